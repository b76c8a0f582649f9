/** `billing config|ingest|close|export|dead-letters` against a configured stack (local or deployed). */
import { parseArgs } from "node:util";
import { createIngestHandler, wrapIngestHandler } from "../functions/ingest-usage/handler.js";
import { SqsEventSourcePoller } from "../local/event-source-poller.js";
import { DynamoBillingStore } from "../shared/adapters/dynamodb/billing-table.js";
import { DynamoMarketplaceStore } from "../shared/adapters/dynamodb/marketplace-store.js";
import { SqsFailedMessageQueue } from "../shared/adapters/sqs/failed-message-queue.js";
import { SqsUsageQueue } from "../shared/adapters/sqs/usage-queue.js";
import { type AccountCloseReport, closePeriod } from "../shared/app/close-period.js";
import { listDeadLetters, redriveDeadLetters } from "../shared/app/dead-letters.js";
import { systemClock } from "../shared/ports/clock.js";
import { readEnvironment } from "../shared/runtime/environment.js";
import { blobStore, cachedConfig, dynamoClient, sqsClient, storeDeps } from "../shared/runtime/wiring.js";
import { writeExports } from "./exports.js";
import { loadConfigFiles } from "./simulate.js";

export async function runStackCommand(
  command: string,
  args: string[],
  ctx: { usage: string; readFile: (p: string) => Promise<string> },
): Promise<number> {
  const env = readEnvironment();
  const endpoints = {
    region: env.AWS_REGION,
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT,
    sqsEndpoint: env.SQS_ENDPOINT,
    s3Endpoint: env.S3_ENDPOINT,
  };
  const ddb = dynamoClient(endpoints);
  const sqs = sqsClient(endpoints);
  const store = new DynamoBillingStore(ddb, env.BILLING_TABLE);
  const config = cachedConfig(store, systemClock, 0);
  // The exports bucket keeps dead letters' large bodies (EXPORTS_BUCKET; locally S3_ENDPOINT too).
  const blobs = blobStore(endpoints, env.EXPORTS_BUCKET);
  const deps = storeDeps(store, systemClock, config, blobs);
  const need = (v: string | undefined, name: string) => {
    if (!v) throw new Error(`${name} must be set for this command`);
    return v;
  };
  try {
    switch (command) {
      case "config": {
        const { values, positionals } = parseArgs({
          args,
          allowPositionals: true,
          options: { accounts: { type: "string" }, tariffs: { type: "string" } },
        });
        if (positionals[0] !== "load" || !values.accounts || !values.tariffs) break;
        const c = await loadConfigFiles(values.accounts, values.tariffs);
        await store.saveConfig(c);
        console.log(`loaded ${c.accounts.length} accounts and ${c.tariffs.length} tariffs`);
        return 0;
      }
      case "ingest": {
        const { values, positionals } = parseArgs({
          args,
          allowPositionals: true,
          options: { drain: { type: "boolean" } },
        });
        const file = positionals[0];
        if (!file) break;
        const bodies = (await ctx.readFile(file)).split(/\r?\n/).filter((l) => l.trim() !== "");
        const queueUrl = need(env.USAGE_QUEUE_URL, "USAGE_QUEUE_URL");
        await new SqsUsageQueue(sqs, queueUrl).send(bodies);
        console.error(`sent ${bodies.length} messages to ${queueUrl}`);
        if (values.drain) {
          // Local stacks have no Lambda: run the same handler through the event-source poller.
          const poller = new SqsEventSourcePoller({
            sqs,
            queueUrl,
            handler: wrapIngestHandler(createIngestHandler(deps)),
            region: env.AWS_REGION,
          });
          const r = await poller.drain({ onProgress: (p) => console.error(`processed ${p.processed}`) });
          console.error(`drained: ${r.processed} processed, ${r.failed} failed attempts`);
        }
        return 0;
      }
      case "close": {
        const { values } = parseArgs({
          args,
          options: { period: { type: "string" }, account: { type: "string", multiple: true } },
        });
        if (!values.period) break;
        const reports: AccountCloseReport[] = await closePeriod(
          values.period,
          deps,
          values.account ? { accountIds: values.account } : {},
        );
        for (const r of reports)
          console.log(
            `${r.accountId} ${r.period} ${r.status}: ${r.lines} lines, ${r.totals.amount} ${r.currency}`,
          );
        return 0;
      }
      case "export": {
        const { values } = parseArgs({ args, options: { out: { type: "string" } } });
        if (!values.out) break;
        const closes = await store.allCloses();
        const files = await writeExports(values.out, {
          lines: await store.allLines(),
          reports: closes.filter((c) => c.report).map((c) => c.report as AccountCloseReport),
          deadLetters: await store.list(),
          // What the Metering API accepted, as our records hold it (rating-rules §6).
          marketplaceUsage: await new DynamoMarketplaceStore(ddb, env.BILLING_TABLE).acceptedUsage(),
        });
        console.log(`exports: ${files.join(", ")}`);
        return 0;
      }
      case "dead-letters": {
        const { values, positionals } = parseArgs({
          args,
          allowPositionals: true,
          options: { id: { type: "string", multiple: true } },
        });
        const dlq =
          env.USAGE_DLQ_URL && env.USAGE_QUEUE_URL
            ? new SqsFailedMessageQueue(sqs, env.USAGE_DLQ_URL, env.USAGE_QUEUE_URL)
            : undefined;
        if (positionals[0] === "list") {
          const l = await listDeadLetters(store, dlq);
          for (const d of l.invalid) console.log(`${d.deadLetterId}\t${d.subject ?? "-"}\t${d.reason}`);
          for (const d of l.failedProcessing)
            console.log(`${d.messageId}\t(dlq, ${d.receiveCount} receives)`);
          console.error(
            `${l.invalid.length} invalid messages, ${l.failedProcessing.length} in the dead-letter queue`,
          );
          return 0;
        }
        if (positionals[0] === "redrive") {
          const queueUrl = need(env.USAGE_QUEUE_URL, "USAGE_QUEUE_URL");
          const r = await redriveDeadLetters(store, new SqsUsageQueue(sqs, queueUrl), {
            ...(values.id ? { ids: values.id } : {}),
            ...(dlq ? { dlq } : {}),
            ...(blobs ? { blobs } : {}),
          });
          console.log(
            `redriven: ${r.redriven} from the dead-letter store, ${r.fromQueue} from the dead-letter queue`,
          );
          for (const n of r.notRedriven ?? []) console.error(`not redriven: ${n.id}: ${n.why}`);
          return 0;
        }
        break;
      }
      default:
        break;
    }
    console.error(ctx.usage);
    return 2;
  } finally {
    ddb.destroy();
    sqs.destroy();
  }
}
