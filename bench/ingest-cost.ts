/**
 * What an ingest phase costs on AWS, per million events: the phase's figures (bench/ingest-volume.ts)
 * priced at list prices, and the sub-phases of one stretch of traffic summed into one.
 */
import { Meter } from "./dynamodb-units.js";

// List prices, us-east-1 (aws.amazon.com pricing pages): DynamoDB on-demand since 2024-11-01,
// SQS standard queues (per request, each 64 KB chunk of a payload billed as one), Lambda arm64.
export const PRICES = {
  dynamodbPerMillionWru: 0.625,
  dynamodbPerMillionRru: 0.125,
  sqsPerMillionRequests: 0.4,
  lambdaPerMillionRequests: 0.2,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaMemoryGb: 0.5, // infra: ingest-usage runs with 512 MB (billing-function.ts)
  foldMemoryGb: 1, // infra: the usage fold runs with 1,024 MB (constructs/usage-fold.ts)
};

/** One phase's figures: its traffic, the units its requests cost, its SQS requests and Lambda time. */
export interface PhaseResult {
  readonly name: string;
  readonly events: number;
  readonly messages: number;
  readonly processed: number;
  readonly failed: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly meter: Meter | undefined;
  readonly sqsRequests: number;
  readonly handlerMs: number;
  readonly handlerCpuMs: number;
  readonly invocations: number;
  readonly foldTicks: number;
  readonly shardRuns: number;
  readonly foldMs: number;
}

/** Sub-phases of one stretch of traffic as one phase: counts and times summed, meters added. */
export function sumPhases(name: string, runs: readonly PhaseResult[]): PhaseResult {
  const sum = (f: (r: PhaseResult) => number) => runs.reduce((s, r) => s + f(r), 0);
  const meter = new Meter();
  for (const r of runs) if (r.meter) meter.add(r.meter);
  const seconds = sum((r) => r.seconds);
  return {
    name,
    events: sum((r) => r.events),
    messages: sum((r) => r.messages),
    processed: sum((r) => r.processed),
    failed: sum((r) => r.failed),
    seconds,
    perSecond: sum((r) => r.events) / seconds,
    meter,
    sqsRequests: sum((r) => r.sqsRequests),
    handlerMs: sum((r) => r.handlerMs),
    handlerCpuMs: sum((r) => r.handlerCpuMs),
    invocations: sum((r) => r.invocations),
    foldTicks: sum((r) => r.foldTicks),
    shardRuns: sum((r) => r.shardRuns),
    foldMs: sum((r) => r.foldMs),
  };
}

/** USD per million events: SQS (producer sends + consumer receives/deletes), Lambda, DynamoDB on-demand. */
export function costPerMillion(r: PhaseResult, bodiesPerSend: number) {
  const m = r.meter ?? new Meter();
  const perEvent = (x: number) => x / r.events;
  const producerSends = Math.ceil(r.messages / bodiesPerSend);
  const sqsReq = perEvent(producerSends + r.sqsRequests);
  // The fold: one invocation per tick (every minute, folding or not), at its own memory.
  const lambdaReq = perEvent(r.invocations + r.foldTicks);
  const gbSeconds = perEvent(
    (r.handlerMs / 1000) * PRICES.lambdaMemoryGb + (r.foldMs / 1000) * PRICES.foldMemoryGb,
  );
  const parts = {
    sqs: sqsReq * PRICES.sqsPerMillionRequests,
    lambda: lambdaReq * PRICES.lambdaPerMillionRequests + gbSeconds * PRICES.lambdaArmPerGbSecond * 1e6,
    dynamodb: perEvent(m.wru) * PRICES.dynamodbPerMillionWru + perEvent(m.rru) * PRICES.dynamodbPerMillionRru,
  };
  return { ...parts, total: parts.sqs + parts.lambda + parts.dynamodb, sqsReq };
}
