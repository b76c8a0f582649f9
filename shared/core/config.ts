/**
 * Loading and checking the accounts and tariffs files (contract §2, §3; rating-rules G9).
 * Every refusal names the file, the entry and the field.
 */
import type { z } from "zod";
import { type Account, accountsFileSchema } from "../contract/accounts.js";
import { type Tariff, type TariffVersion, tariffsFileSchema } from "../contract/tariffs.js";
import { isProductCode } from "./catalogue.js";
import { DAY } from "./time.js";

export class ConfigFileError extends Error {
  override readonly name = "ConfigFileError";
  constructor(
    readonly file: string,
    readonly entry: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}: ${entry}${field ? `, field ${field}` : ""}: ${problem}`);
  }
}

/** G9 notice periods: price changes of these products take effect no sooner than this after publication. */
export const noticePeriods: Readonly<Record<string, number>> = {
  "genai.interaction": 8 * DAY,
  "whatsapp.freeform": 7 * DAY,
};

const entryName = (arr: unknown, index: number, key: string) => {
  const item = Array.isArray(arr) ? (arr[index] as Record<string, unknown> | undefined) : undefined;
  const id = item && typeof item === "object" && typeof item[key] === "string" ? ` (${item[key]})` : "";
  return `entry ${index}${id}`;
};

function firstIssue(file: string, raw: unknown, error: z.ZodError, idKey: string): ConfigFileError {
  const issue = error.issues[0]!;
  const [index, ...rest] = issue.path;
  if (typeof index !== "number") return new ConfigFileError(file, "(file)", "", issue.message);
  return new ConfigFileError(file, entryName(raw, index, idKey), rest.map(String).join("."), issue.message);
}

/** Price-relevant content of a version for one product, to tell whether a new version changes it. */
const priceOf = (v: TariffVersion, product: string) =>
  JSON.stringify([
    v.rates.filter((r) => r.product === product),
    v.packages.filter((p) => p.product === product),
  ]);

export function parseTariffs(raw: unknown, file = "tariffs file"): Tariff[] {
  const parsed = tariffsFileSchema.safeParse(raw);
  if (!parsed.success) throw firstIssue(file, raw, parsed.error, "tariffId");
  const seen = new Set<string>();
  parsed.data.forEach((tariff, i) => {
    const entry = `entry ${i} (${tariff.tariffId})`;
    if (seen.has(tariff.tariffId)) throw new ConfigFileError(file, entry, "tariffId", "duplicate tariffId");
    seen.add(tariff.tariffId);
    tariff.versions.forEach((v, j) => {
      const at = (f: string) => `versions.${j}.${f}`;
      v.rates.forEach((r, k) => {
        if (!isProductCode(r.product))
          throw new ConfigFileError(
            file,
            entry,
            `${at("rates")}.${k}.product`,
            `unknown product "${r.product}"`,
          );
      });
      v.packages.forEach((p, k) => {
        if (!isProductCode(p.product))
          throw new ConfigFileError(
            file,
            entry,
            `${at("packages")}.${k}.product`,
            `unknown product "${p.product}"`,
          );
      });
      if (j === 0) return;
      const prev = tariff.versions[j - 1]!;
      const from = Date.parse(v.effectiveFrom);
      if (from <= Date.parse(prev.effectiveFrom))
        throw new ConfigFileError(
          file,
          entry,
          at("effectiveFrom"),
          `versions must be ordered by effectiveFrom without overlap: ${v.effectiveFrom} is not after ${prev.effectiveFrom}`,
        );
      // G9: the first version is exempt; later ones that change a noticed price need the notice.
      for (const [product, notice] of Object.entries(noticePeriods)) {
        if (priceOf(v, product) === priceOf(prev, product)) continue;
        const given = from - Date.parse(v.publishedAt);
        if (given < notice)
          throw new ConfigFileError(
            file,
            entry,
            at("effectiveFrom"),
            `notice-period breach (rating-rules G9): version changes the price of ${product} ${(given / DAY).toFixed(2)} days after publication, at least ${notice / DAY} days are required`,
          );
      }
    });
  });
  return parsed.data;
}

export function parseAccounts(raw: unknown, tariffs: readonly Tariff[], file = "accounts file"): Account[] {
  const parsed = accountsFileSchema.safeParse(raw);
  if (!parsed.success) throw firstIssue(file, raw, parsed.error, "accountId");
  const byId = new Map(tariffs.map((t) => [t.tariffId, t]));
  const seen = new Set<string>();
  parsed.data.forEach((a, i) => {
    const entry = `entry ${i} (${a.accountId})`;
    if (seen.has(a.accountId)) throw new ConfigFileError(file, entry, "accountId", "duplicate accountId");
    seen.add(a.accountId);
    const tariff = byId.get(a.tariffId);
    if (!tariff) throw new ConfigFileError(file, entry, "tariffId", `unknown tariff "${a.tariffId}"`);
    if (tariff.currency !== a.currency)
      throw new ConfigFileError(
        file,
        entry,
        "currency",
        `account currency ${a.currency} differs from tariff ${tariff.tariffId} currency ${tariff.currency}`,
      );
  });
  return parsed.data;
}

/** The validated configuration a billing run works with. */
export interface BillingConfig {
  readonly accounts: readonly Account[];
  readonly tariffs: readonly Tariff[];
}

export class UnknownAccountError extends Error {
  override readonly name = "UnknownAccountError";
}

export function configIndex(config: BillingConfig) {
  const accounts = new Map(config.accounts.map((a) => [a.accountId, a]));
  const tariffs = new Map(config.tariffs.map((t) => [t.tariffId, t]));
  return {
    account(id: string): Account | undefined {
      return accounts.get(id);
    },
    tariffOf(account: Account): Tariff {
      const t = tariffs.get(account.tariffId);
      if (!t)
        throw new UnknownAccountError(
          `tariff ${account.tariffId} of account ${account.accountId} not loaded`,
        );
      return t;
    },
  };
}
