/**
 * The period manifest kept current by the deployed system (issue 10 item 1), on the local stack
 * (DynamoDB Local, fauxqs's S3): the close scheduler's Lambda wiring, after its fan-out, rewrites the
 * manifest of each period whose exports changed since it was written — no CLI run. Closes go through
 * the scheduler, the close queue and the worker; the manifest is read back with the S3 client.
 */
import { createHash } from "node:crypto";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { closeSchedulerDeps, createCloseSchedulerHandler } from "../../functions/close-scheduler/handler.js";
import { s3Client } from "../../shared/adapters/s3/blob-store.js";
import { manifestKey } from "../../shared/core/period-exports.js";
import { configOf, stdTariffs, usageBody, useLocalSystem } from "../support/scenario.js";

// UTC+14 and UTC−12: January ends 26 hours apart, so the second close comes a day after the first.
const config = configOf(
  stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }], { effectiveFrom: "2024-12-01T00:00:00Z" }),
  [
    { accountId: "kiritimati", timezone: "Pacific/Kiritimati" },
    { accountId: "baker", timezone: "Etc/GMT+12" },
  ],
);
const sms = (subject: string) =>
  usageBody(
    "sms.mt",
    "2025-01-15T12:00:00Z",
    { to: subject, country: "TR", status: "submitted" },
    { id: `${subject}-1`, subject },
  );
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

interface ObjectRef {
  key: string;
  bytes: number;
  sha256: string;
}
interface Manifest {
  period: string;
  accounts: number;
  objects: ({ accountId: string } & Record<"csv" | "json" | "jsonl" | "report", ObjectRef>)[];
}

describe("the close scheduler keeps each period's manifest current", () => {
  const scenario = useLocalSystem({ at: "2025-01-20T00:00:00Z", config });
  let s3: S3Client;
  let scheduler: ReturnType<typeof createCloseSchedulerHandler>;

  const text = async (key: string): Promise<string> => {
    const r = await s3.send(new GetObjectCommand({ Bucket: scenario.system.exportsBucket, Key: key }));
    return (await r.Body?.transformToString("utf-8")) ?? "";
  };
  /** The manifest of January, each object it lists read back and its SHA-256 and size checked. */
  const januaryManifest = async (): Promise<{ body: string; accounts: string[] }> => {
    const body = await text(manifestKey("2025-01"));
    const manifest = JSON.parse(body) as Manifest;
    expect(manifest.period).toBe("2025-01");
    for (const entry of manifest.objects)
      for (const ref of [entry.csv, entry.json, entry.jsonl, entry.report]) {
        const object = await text(ref.key);
        expect(sha256(object), ref.key).toBe(ref.sha256);
        expect(Buffer.byteLength(object), ref.key).toBe(ref.bytes);
      }
    expect(manifest.accounts).toBe(manifest.objects.length);
    return { body, accounts: manifest.objects.map((o) => o.accountId) };
  };
  /** One hourly run at `time`, then the close requests it sent, drained by the worker. */
  const hourlyRun = async (time: string) => {
    scenario.travelTo(time);
    const run = await scheduler({});
    await scenario.system.drainCloses();
    return run;
  };

  beforeAll(async () => {
    const { system, clock } = scenario;
    s3 = s3Client({ region: "us-east-1", s3Endpoint: system.endpoints.s3 });
    scheduler = createCloseSchedulerHandler(
      closeSchedulerDeps(
        {
          BILLING_TABLE: system.tableName,
          CLOSE_QUEUE_URL: system.queueUrls.close,
          CLOSE_GRACE_HOURS: 2,
          EXPORTS_BUCKET: system.exportsBucket,
        },
        {
          dynamo: system.dynamodb,
          sqs: system.sqs,
          endpoints: {
            region: "us-east-1",
            dynamodbEndpoint: system.endpoints.dynamodb,
            sqsEndpoint: system.endpoints.sqs,
            s3Endpoint: system.endpoints.s3,
          },
        },
        clock,
      ),
    );
    await scenario.ingest(config.accounts.map((a) => sms(a.accountId)));
  });

  it("writes the manifest on the run after a close, rewrites nothing when no close came, and lists a later close", async () => {
    // kiritimati's January ends 2025-01-31T10:00Z: requested at 12:00 (no manifest yet: nothing
    // closed), with baker's December (the first sight of its zone: its latest due period).
    const first = await hourlyRun("2025-01-31T12:00:00Z");
    expect(first.fannedOut).toEqual([
      { zone: "Etc/GMT+12", period: "2024-12", enqueued: 1 },
      { zone: "Pacific/Kiritimati", period: "2025-01", enqueued: 1 },
    ]);
    expect(first.manifests).toEqual([]);
    expect((await scenario.system.store.getClose("kiritimati", "2025-01"))?.status).toBe("closed");

    // The next hourly run writes both periods' manifests: the closed accounts with their objects' SHA-256.
    expect((await hourlyRun("2025-01-31T13:00:00Z")).manifests).toEqual([
      { period: "2024-12", accounts: 1 },
      { period: "2025-01", accounts: 1 },
    ]);
    const once = await januaryManifest();
    expect(once.accounts).toEqual(["kiritimati"]);

    // No close since: the following runs write no manifest, and the object is unchanged.
    expect((await hourlyRun("2025-01-31T14:00:00Z")).manifests).toEqual([]);
    expect((await hourlyRun("2025-01-31T15:00:00Z")).manifests).toEqual([]);
    expect(await text(manifestKey("2025-01"))).toBe(once.body);

    // baker's January ends 2025-02-01T12:00Z: closed after the 14:00 run, listed by the 15:00 one.
    const late = await hourlyRun("2025-02-01T14:00:00Z");
    expect(late.fannedOut).toEqual([{ zone: "Etc/GMT+12", period: "2025-01", enqueued: 1 }]);
    expect((await scenario.system.store.getClose("baker", "2025-01"))?.status).toBe("closed");
    expect((await hourlyRun("2025-02-01T15:00:00Z")).manifests).toEqual([{ period: "2025-01", accounts: 2 }]);
    expect((await januaryManifest()).accounts).toEqual(["baker", "kiritimati"]);
    expect((await hourlyRun("2025-02-01T16:00:00Z")).manifests).toEqual([]);
  });

  it("a close request delivered again notes the period changed: the next run rewrites the same bytes", async () => {
    // A crash between the entry's objects and the period's change note: the close request comes back.
    const before = await text(manifestKey("2025-01"));
    await scenario.system.close("2025-01", ["baker"]);
    expect((await hourlyRun("2025-02-01T17:00:00Z")).manifests).toEqual([{ period: "2025-01", accounts: 2 }]);
    expect(await text(manifestKey("2025-01"))).toBe(before);
    expect((await hourlyRun("2025-02-01T18:00:00Z")).manifests).toEqual([]);
  });
});
