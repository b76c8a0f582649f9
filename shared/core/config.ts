/**
 * Loading and checking the accounts and tariffs files (contract §2, §3; rating-rules G9).
 * Every refusal names the file, the entry and the field.
 */
import type { z } from "zod";
import {
  type Account,
  accountSchema,
  accountSettingsSchema,
  accountsFileSchema,
  azureSettingsSchema,
} from "../contract/accounts.js";
import { instantOf } from "../contract/common.js";
import {
  packageSchema,
  rateSchema,
  type Tariff,
  type TariffVersion,
  tariffSchema,
  tariffsFileSchema,
  tariffVersionSchema,
  tierStepSchema,
} from "../contract/tariffs.js";
import { catalogue, isProductCode, type ProductDefinition } from "./catalogue.js";
import { BillingError } from "./errors.js";
import { compositeKey } from "./keys.js";
import { minorUnits } from "./money.js";
import { builtInProducts, type ProductCatalogue } from "./products/index.js";
import { DAY } from "./time.js";

export class ConfigFileError extends BillingError {
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

/** Every field name of the two files, to suggest the one an unknown key misspells (`timeZone`). */
const knownFields = [
  accountSchema,
  accountSettingsSchema,
  azureSettingsSchema,
  tariffSchema,
  tariffVersionSchema,
  rateSchema,
  packageSchema,
  tierStepSchema,
].flatMap((s) => Object.keys(s.shape));
const norm = (k: string) => k.toLowerCase().replace(/[_-]/g, "");
const closestKey = (key: string) => knownFields.find((k) => norm(k) === norm(key) && k !== key);

function firstIssue(file: string, raw: unknown, error: z.ZodError, idKey: string): ConfigFileError {
  const issue = error.issues[0]!;
  const [index, ...rest] = issue.path;
  let path = rest.map(String);
  let problem = issue.message;
  if (issue.code === "unrecognized_keys") {
    // Strict schemas: name the unknown field itself (the first, when several).
    const key = issue.keys[0] ?? "";
    path = [...path, key];
    const hint = closestKey(key);
    problem = `unknown field "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}${issue.keys.length > 1 ? ` (also unknown: ${issue.keys.slice(1).join(", ")})` : ""}`;
  }
  if (typeof index !== "number") return new ConfigFileError(file, "(file)", path.join("."), problem);
  return new ConfigFileError(file, entryName(raw, index, idKey), path.join("."), problem);
}

/** A money amount (fee, minimum) has at most the currency's minor-unit digits (G4: EUR 2, JPY 0). */
function amountDigitsProblem(amount: string, currency: string): string | undefined {
  const decimals = amount.split(".")[1]?.length ?? 0;
  const allowed = minorUnits(currency);
  return decimals > allowed
    ? `amount "${amount}" has ${decimals} decimals; ${currency} amounts have at most ${allowed}`
    : undefined;
}

/** Price-relevant content of a version for one product, to tell whether a new version changes it. */
const priceOf = (v: TariffVersion, product: string) =>
  compositeKey(
    v.rates.filter((r) => r.product === product),
    v.packages.filter((p) => p.product === product),
  );

/** `products`: the catalogue the rates' and packages' products must be in (the built-in one unless a test registers its own). */
export function parseTariffs(
  raw: unknown,
  file = "tariffs file",
  products: ProductCatalogue = builtInProducts,
): Tariff[] {
  const parsed = tariffsFileSchema.safeParse(raw);
  if (!parsed.success) throw firstIssue(file, raw, parsed.error, "tariffId");
  const seen = new Set<string>();
  parsed.data.forEach((tariff, i) => {
    const entry = `entry ${i} (${tariff.tariffId})`;
    if (seen.has(tariff.tariffId)) throw new ConfigFileError(file, entry, "tariffId", "duplicate tariffId");
    seen.add(tariff.tariffId);
    tariff.versions.forEach((v, j) => {
      const at = (f: string) => `versions.${j}.${f}`;
      /** The entry's product, when the catalogue has it. */
      const knownProduct = (list: "rates" | "packages", k: number, product: string): ProductDefinition => {
        const row = products.definitions[product];
        if (!Object.hasOwn(products.definitions, product) || row === undefined)
          throw new ConfigFileError(file, entry, `${at(list)}.${k}.product`, `unknown product "${product}"`);
        return row;
      };
      v.rates.forEach((r, k) => {
        // rating-rules §1.1: a match key that is not a pricing dimension of the product never applies.
        const dimensions = knownProduct("rates", k, r.product).dimensions;
        for (const key of Object.keys(r.match))
          if (!dimensions.includes(key))
            throw new ConfigFileError(
              file,
              entry,
              `${at("rates")}.${k}.match.${key}`,
              `"${key}" is not a pricing dimension of ${r.product} (rating-rules §1.1); ${
                dimensions.length ? `its dimensions are ${dimensions.join(", ")}` : "it has none"
              }`,
            );
      });
      v.packages.forEach((p, k) => {
        knownProduct("packages", k, p.product);
        const excess = amountDigitsProblem(p.fee, tariff.currency);
        if (excess) throw new ConfigFileError(file, entry, `${at("packages")}.${k}.fee`, excess);
      });
      if (j === 0) return;
      const prev = tariff.versions[j - 1]!;
      const from = instantOf(v.effectiveFrom);
      if (from <= instantOf(prev.effectiveFrom))
        throw new ConfigFileError(
          file,
          entry,
          at("effectiveFrom"),
          `versions must be ordered by effectiveFrom without overlap: ${v.effectiveFrom} is not after ${prev.effectiveFrom}`,
        );
      // G9: the first version is exempt; later ones that change a noticed price need the notice.
      for (const [product, notice] of Object.entries(noticePeriods)) {
        if (priceOf(v, product) === priceOf(prev, product)) continue;
        const given = from - instantOf(v.publishedAt);
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

function isMarketplaceKey(key: string): boolean {
  if (isProductCode(key)) return true;
  const dot = key.lastIndexOf(".");
  const product = key.slice(0, dot);
  return (
    dot > 0 &&
    isProductCode(product) &&
    (catalogue[product] as ProductDefinition).dimensions.includes("category") &&
    key.length > dot + 1
  );
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
    a.commitments.forEach((c, k) => {
      const excess = amountDigitsProblem(c.minimumAmount, a.currency);
      if (excess) throw new ConfigFileError(file, entry, `commitments.${k}.minimumAmount`, excess);
    });
    if (a.azure) {
      // A key names a product code or `product.category` (marketplace/usage.ts); a typo never reports.
      for (const key of Object.keys(a.azure.dimensions))
        if (!isMarketplaceKey(key))
          throw new ConfigFileError(
            file,
            entry,
            `azure.dimensions.${key}`,
            `"${key}" is neither a product code nor product.category of a product priced by category`,
          );
      const ids = new Set(Object.values(a.azure.dimensions));
      for (const id of Object.keys(a.azure.includedQuantities))
        if (!ids.has(id))
          throw new ConfigFileError(
            file,
            entry,
            `azure.includedQuantities.${id}`,
            `"${id}" is not one of the plan's dimensions in azure.dimensions (${[...ids].join(", ")})`,
          );
    }
  });
  return parsed.data;
}

/** The validated configuration a billing run works with. */
export interface BillingConfig {
  readonly accounts: readonly Account[];
  readonly tariffs: readonly Tariff[];
}

export class UnknownAccountError extends BillingError {
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
