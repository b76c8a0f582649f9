/**
 * `billing marketplace reconcile --period YYYY-MM` against a configured stack (the embedded local
 * one, named by environment variables): the reconciliation CSV before and after the hourly reporter
 * ran, and its usage errors.
 */
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { LocalMeteringApi, meteringResourcesOf } from "../../local/metering-api.js";
import { DynamoMarketplaceStore } from "../../shared/adapters/dynamodb/marketplace-store.js";
import { HttpMeteringClient } from "../../shared/adapters/marketplace/http-metering-client.js";
import { reportMarketplaceUsageUntil } from "../../shared/app/report-marketplace-usage.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { dynamoClient } from "../../shared/runtime/wiring.js";
import { billing as billingNoStack, configLoadArgs, STACK_LINE, useStackCommands } from "../support/cli.js";

const root = resolve(import.meta.dirname, "..", "..");
const example = join(root, "examples", "azure-marketplace");
const HEADER =
  "account_id,period,resource_id,plan_id,dimension,rated_quantity,included_quantity,overage_quantity,accepted_quantity,rejected_quantity,pending_quantity,status,expired_quantity";

describe("billing marketplace reconcile", () => {
  // The stack's ingest receives the example's July 2025 events right after they happened (on the
  // real clock G5 refuses events more than 400 days before their receipt as too old).
  const receiptOffset = Date.parse("2025-07-02T09:00:00Z") - Date.now();
  const stack = useStackCommands({ clock: { now: () => Date.now() + receiptOffset } });
  const billing = stack.billing;

  it("says no reporter has run (exit 1) until one has; then prints the month's reconciliation", async () => {
    const load = await billing(...configLoadArgs(example));
    expect(load.code, load.stderr).toBe(0);
    // Sent by the command, taken by the stack's own ingest handler (on the stack's clock).
    const ingest = await billing("ingest", join(example, "events.jsonl"));
    expect(ingest.code, ingest.stderr).toBe(0);
    const tally = await stack.system.drain();
    expect(tally["dead-lettered"]).toBe(0);

    // Nothing was ever sent: every dimension would read "short", which says nothing. It says why instead.
    const before = await billing("marketplace", "reconcile", "--period", "2025-07");
    expect(before.code).toBe(1);
    expect(before.stdout).toBe("");
    expect(before.stderr).toMatch(
      /^billing: no Marketplace reporter has run yet for contoso: nothing was sent/m,
    );
    expect(before.stderr).not.toMatch(STACK_LINE);

    // The hourly reporter runs over the day against a local Metering API.
    const config = await stack.system.store.loadConfig();
    const clock = new VirtualClock(Date.parse("2025-07-02T09:00:00Z"));
    const api = new LocalMeteringApi({ clock, resources: meteringResourcesOf(config.accounts) });
    const server = await api.start();
    const ddb = dynamoClient({ region: "us-east-1", dynamodbEndpoint: stack.system.endpoints.dynamodb });
    try {
      await reportMarketplaceUsageUntil(
        {
          ledger: stack.system.store.usage,
          store: new DynamoMarketplaceStore(ddb, stack.system.tableName),
          client: new HttpMeteringClient({ baseUrl: server.url }),
          clock,
          config: async () => config,
        },
        Date.parse("2025-07-03T00:00:00Z"),
        { fromHour: Date.parse("2025-07-02T09:00:00Z") },
      );
    } finally {
      ddb.destroy();
      await server.stop();
    }
    const after = await billing("marketplace", "reconcile", "--period", "2025-07", "--account", "contoso");
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout.split("\n")[0]).toBe(HEADER);
    expect(
      after.stdout
        .trim()
        .split("\n")
        .slice(1)
        .map((r) => r.split(",").slice(4)),
    ).toEqual([
      ["sms_mo", "1", "0", "1", "1", "0", "0", "reconciled", "0"],
      ["sms_mt", "9", "5", "4", "4", "0", "0", "reconciled", "0"],
    ]);
  });

  it.each([
    [["marketplace"], /^billing: marketplace takes one subcommand: marketplace reconcile --period YYYY-MM$/m],
    [["marketplace", "reconcile"], /^billing: marketplace reconcile needs --period YYYY-MM$/m],
    [["marketplace", "reconcile", "--period", "2025-7"], /^billing: --period must be YYYY-MM/m],
  ])("billing %j exits 2 with a message and no stack trace", async (args, message) => {
    const r = await billingNoStack(args, { PATH: process.env.PATH, HOME: process.env.HOME });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});
