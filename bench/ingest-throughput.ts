/**
 * Benchmark (not a test): ingest and close throughput on the embedded local stack.
 * `npm run bench [-- --events 5000 --accounts 5]` prints figures; nothing is asserted.
 */

import { startLocalBillingSystem } from "../local/billing-system.js";
import { parseAccounts } from "../shared/core/config.js";
import { DAY } from "../shared/core/time.js";
import { VirtualClock } from "../shared/ports/clock.js";
import { stdTariffs } from "../test/support/events.js";
import { benchOptions } from "./bench-options.js";

// Local tools run on Node 20 by design (Lambda runs nodejs22.x): the SDK's Node 22 notice is noise here.
const { events: n, accounts: accountCount } = benchOptions({ events: 5000, accounts: 5 });

const tariffs = stdTariffs(
  Object.entries({
    "sms.mt": "0.012",
    "whatsapp.template": "0.05",
    "whatsapp.freeform": "0.005",
    "voice.minute": "0.011",
  }).map(([product, unitPrice]) => ({ product, unitPrice })),
  {
    packages: [
      { product: "moments.engaged_people", includedQuantity: 100, fee: "200.00", overageUnitPrice: "0.15" },
    ],
  },
);
const accounts = parseAccounts(
  Array.from({ length: accountCount }, (_, i) => ({
    accountId: `acct-${i}`,
    name: `Account ${i}`,
    currency: "EUR",
    tariffId: "std",
  })),
  tariffs,
);
const start = Date.parse("2025-07-01T00:00:00Z");
const bodies = Array.from({ length: n }, (_, i) => {
  const time = new Date(start + Math.floor((i / n) * 30 * DAY)).toISOString();
  const subject = `acct-${i % accountCount}`;
  const kind = i % 4;
  const [type, data] =
    kind === 0
      ? ["sms.mt", { to: `${i}`, country: "TR", status: "submitted" }]
      : kind === 1
        ? [
            "whatsapp.message",
            {
              endUserId: `u${i % 300}`,
              senderId: "wa1",
              kind: "template",
              category: "marketing",
              delivered: true,
            },
          ]
        : kind === 2
          ? ["moments.flow_entered", { endUserId: `u${i % 500}`, flowId: "f1" }]
          : [
              "voice.call",
              {
                callId: `c${i}`,
                service: "calls",
                direction: "outbound",
                country: "US",
                answered: true,
                durationSeconds: i % 300,
              },
            ];
  return JSON.stringify({
    specversion: "1.0",
    id: `bench-${i}`,
    source: "/bench",
    type,
    subject,
    time,
    data,
  });
});

// Received after the month: its events are not "more than 24 hours ahead".
const clock = new VirtualClock(Date.parse("2025-08-01T00:00:00Z"));
const t0 = performance.now();
const system = await startLocalBillingSystem({ clock });
const tStack = performance.now();
try {
  await system.loadConfig({ accounts, tariffs });
  await system.send(bodies);
  const tSent = performance.now();
  const tally = await system.drain();
  const tDrained = performance.now();
  clock.advanceTo(Date.parse("2025-08-01T00:00:00Z"));
  const reports = await system.close("2025-07");
  const tClosed = performance.now();
  const s = (ms: number) => (ms / 1000).toFixed(2);
  console.log(`local stack start       ${s(tStack - t0)} s`);
  console.log(
    `send ${n} messages       ${s(tSent - tStack)} s  (${Math.round(n / ((tSent - tStack) / 1000))} msg/s)`,
  );
  console.log(
    `ingest (poll+rate+store) ${s(tDrained - tSent)} s  (${Math.round(n / ((tDrained - tSent) / 1000))} msg/s)  ${JSON.stringify(tally)}`,
  );
  console.log(
    `close ${accountCount} accounts        ${s(tClosed - tDrained)} s  (${reports.reduce((x, r) => x + r.lines, 0)} lines)`,
  );
  console.log(
    `peak RSS                ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB (this process; DynamoDB Local is a separate JVM)`,
  );
} finally {
  await system.stop();
}
