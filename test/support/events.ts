/** Builders of ledger events and accounts for unit tests of the pure core. */
import { type Account, type AccountInput, accountSchema } from "../../shared/contract/accounts.js";
import type { Tariff } from "../../shared/contract/tariffs.js";
import { tariffSchema } from "../../shared/contract/tariffs.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";

let seq = 0;
/** A ledger event; `data` is not validated here (the contract tests do that). */
export function ev(
  type: string,
  time: string,
  data: Record<string, unknown>,
  extraOrId: string | Partial<{ id: string; source: string; subject: string }> = {},
): LedgerEvent {
  seq += 1;
  const extra = typeof extraOrId === "string" ? { id: extraOrId } : extraOrId;
  return {
    specversion: "1.0",
    id: extra.id ?? `e${String(seq).padStart(6, "0")}`,
    source: extra.source ?? "/test",
    type,
    subject: extra.subject ?? "acme",
    time,
    data,
    t: Date.parse(time),
  } as unknown as LedgerEvent;
}

export function account(over: Partial<AccountInput> = {}): Account {
  return accountSchema.parse({ accountId: "acme", name: "Acme", currency: "EUR", tariffId: "t1", ...over });
}

export function tariff(versions: unknown[], over: Partial<Tariff> = {}): Tariff {
  return tariffSchema.parse({ tariffId: "t1", currency: "EUR", versions, ...over });
}

export const v2025 = (rates: unknown[], packages: unknown[] = []) => ({
  publishedAt: "2024-12-01T00:00:00Z",
  effectiveFrom: "2025-01-01T00:00:00Z",
  rates,
  packages,
});
