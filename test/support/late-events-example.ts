/**
 * examples/late-events on a local system: July's events, July closed, late July events, August
 * closed (its adjustments bill the late events). `edit` may add accounts to the example's configuration.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfigFiles } from "../../cli/simulate.js";
import type { LocalBillingSystem } from "../../local/billing-system.js";
import type { BillingConfig } from "../../shared/core/config.js";

const example = resolve(import.meta.dirname, "..", "..", "examples", "late-events");

const bodiesOf = (file: string) =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");

export async function runLateEventsExample(
  system: LocalBillingSystem,
  edit: (c: BillingConfig) => BillingConfig = (c) => c,
): Promise<void> {
  await system.loadConfig(
    edit(await loadConfigFiles(join(example, "accounts.json"), join(example, "tariffs.json"))),
  );
  await system.send(bodiesOf(join(example, "events.jsonl")));
  await system.drain();
  await system.close("2025-07");
  await system.send(bodiesOf(join(example, "late.jsonl")));
  await system.drain();
  await system.close("2025-08");
}
