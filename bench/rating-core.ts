/**
 * Benchmark (not a test): the pure rating core alone — `ratePeriod` over one account's ledger of N
 * mixed events (every stateful rule in play). `npx tsx bench/rating-core.ts [--events 100000]`.
 */

import fc from "fast-check";
import { ratePeriod } from "../shared/core/rating/engine.js";
import { account, tariff } from "../test/support/events.js";
import { eventArb } from "../test/support/mixed-events.js";
import { mixedTariffVersion } from "../test/support/mixed-tariff.js";
import { benchOptions } from "./bench-options.js";

const { events: n } = benchOptions({ events: 100_000 });
const events = fc.sample(eventArb, { numRuns: n, seed: 1 });
const a = account({ commitments: [{ serviceId: "svc-1", minimumAmount: "5.00" }] });
const t = tariff([mixedTariffVersion]);

ratePeriod({ account: a, tariff: t, periodId: "2025-07", events: events.slice(0, 1000) }); // warm-up
const t0 = performance.now();
const r = ratePeriod({ account: a, tariff: t, periodId: "2025-07", events });
const ms = performance.now() - t0;
console.log(
  `ratePeriod: ${n} events → ${r.lines.length} lines in ${ms.toFixed(0)} ms (${Math.round(n / (ms / 1000))} events/s)`,
);
console.log(`heap used  ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB`);
