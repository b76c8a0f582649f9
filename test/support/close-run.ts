/**
 * One close run in its own process, for the two-process concurrency test (close-claim.test.ts):
 * builds its own DynamoDB client and store, prints "ready", waits for "go" on stdin (so that two
 * processes start together), closes the period and prints its outcomes and its own writes as JSON.
 * Environment: DYNAMODB_ENDPOINT, BILLING_TABLE, PERIOD.
 */
import { createInterface } from "node:readline";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { closePeriod } from "../../shared/app/close-period.js";
import { systemClock } from "../../shared/ports/clock.js";
import { dynamoClient } from "../../shared/runtime/wiring.js";
import { countingPeriods } from "./close-store.js";

const { DYNAMODB_ENDPOINT, BILLING_TABLE, PERIOD } = process.env;
if (!DYNAMODB_ENDPOINT || !BILLING_TABLE || !PERIOD)
  throw new Error("DYNAMODB_ENDPOINT, BILLING_TABLE, PERIOD");
const ddb = dynamoClient({ region: "us-east-1", dynamodbEndpoint: DYNAMODB_ENDPOINT });
const store = new DynamoBillingStore(ddb, BILLING_TABLE);
const config = await store.loadConfig();
const periods = countingPeriods(store);
process.stdout.write("ready\n");
for await (const line of createInterface({ input: process.stdin })) if (line === "go") break;
const outcomes = await closePeriod(PERIOD, {
  usage: store.usage,
  periods,
  deadLetters: store,
  clock: systemClock,
  config: async () => config,
});
process.stdout.write(`${JSON.stringify({ outcomes, writes: periods.writes })}\n`);
ddb.destroy();
