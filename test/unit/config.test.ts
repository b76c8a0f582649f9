/** Loading the accounts and tariffs files (contract §2, §3; rating-rules G9): refusals name file, entry and field. */
import { describe, expect, it } from "vitest";
import { ConfigFileError, parseAccounts, parseTariffs } from "../../shared/core/config.js";

const version = (over: Record<string, unknown> = {}) => ({
  publishedAt: "2024-12-01T00:00:00Z",
  effectiveFrom: "2025-01-01T00:00:00Z",
  rates: [{ product: "sms.mt", unitPrice: "0.05" }],
  ...over,
});
const tariffFile = (versions: unknown[], over: Record<string, unknown> = {}) => [
  { tariffId: "std", currency: "EUR", versions, ...over },
];

function refusal(fn: () => unknown): ConfigFileError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigFileError) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("tariffs file", () => {
  it("accepts a valid file and applies defaults", () => {
    const [t] = parseTariffs(tariffFile([version({ rates: undefined, packages: undefined })]), "t.json");
    expect(t?.versions[0]?.rates).toEqual([]);
  });
  it.each([
    [
      "unknown product",
      [version({ rates: [{ product: "fax.page", unitPrice: "1" }] })],
      "versions.0.rates.0.product",
      /unknown product "fax.page"/,
    ],
    [
      "unit price with 7 decimals",
      [version({ rates: [{ product: "sms.mt", unitPrice: "0.0000001" }] })],
      "versions.0.rates.0.unitPrice",
      /6 decimals/,
    ],
    [
      "both unitPrice and tiers",
      [
        version({
          rates: [
            {
              product: "sms.mt",
              unitPrice: "1",
              tiers: { mode: "volume", steps: [{ upTo: null, unitPrice: "1" }] },
            },
          ],
        }),
      ],
      "versions.0.rates.0.unitPrice",
      /exactly one/,
    ],
    [
      "last tier step bounded",
      [
        version({
          rates: [{ product: "sms.mt", tiers: { mode: "graduated", steps: [{ upTo: 10, unitPrice: "1" }] } }],
        }),
      ],
      "versions.0.rates.0.tiers.steps.0.upTo",
      /last step/,
    ],
    [
      "overlapping versions",
      [version(), version()],
      "versions.1.effectiveFrom",
      /ordered by effectiveFrom without overlap/,
    ],
    [
      "unordered versions",
      [version(), version({ effectiveFrom: "2024-06-01T00:00:00Z" })],
      "versions.1.effectiveFrom",
      /ordered/,
    ],
    [
      "an unknown key in a rate",
      [version({ rates: [{ product: "sms.mt", unitPrice: "0.05", unitprice: "0.04" }] })],
      "versions.0.rates.0.unitprice",
      /unknown field "unitprice" \(did you mean "unitPrice"\?\)/,
    ],
    [
      "an unknown key in a version",
      [version({ effectiveForm: "2025-01-01T00:00:00Z" })],
      "versions.0.effectiveForm",
      /unknown field "effectiveForm"/,
    ],
    [
      "a misspelt match key",
      [version({ rates: [{ product: "sms.mt", match: { contry: "TR" }, unitPrice: "0.05" }] })],
      "versions.0.rates.0.match.contry",
      /"contry" is not a pricing dimension of sms.mt \(rating-rules §1.1\); its dimensions are country, network/,
    ],
    [
      "a match key on a product without dimensions",
      [version({ rates: [{ product: "email.message", match: { country: "TR" }, unitPrice: "0.05" }] })],
      "versions.0.rates.0.match.country",
      /not a pricing dimension of email.message .*it has none/,
    ],
    [
      "a package fee with 7 decimals",
      [
        version({
          packages: [
            {
              product: "moments.engaged_people",
              includedQuantity: 10,
              fee: "1.0000001",
              overageUnitPrice: "1",
            },
          ],
        }),
      ],
      "versions.0.packages.0.fee",
      /"1.0000001" has 7 decimals; EUR amounts have at most 2/,
    ],
    [
      "a package fee with 3 decimals in EUR",
      [
        version({
          packages: [
            {
              product: "moments.engaged_people",
              includedQuantity: 10,
              fee: "200.001",
              overageUnitPrice: "1",
            },
          ],
        }),
      ],
      "versions.0.packages.0.fee",
      /EUR amounts have at most 2/,
    ],
    [
      "a day that does not exist",
      [version({ effectiveFrom: "2025-02-30T00:00:00Z" })],
      "versions.0.effectiveFrom",
      /not a real date-time/,
    ],
  ])("refuses %s", (_n, versions, field, message) => {
    const e = refusal(() => parseTariffs(tariffFile(versions), "tariffs.json"));
    expect(e.file).toBe("tariffs.json");
    expect(e.entry).toBe("entry 0 (std)");
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
  });

  it("refuses a currency that is not ISO 4217, naming the field", () => {
    const e = refusal(() => parseTariffs(tariffFile([version()], { currency: "XYZ" }), "tariffs.json"));
    expect(e.message).toBe("tariffs.json: entry 0 (std), field currency: not an ISO 4217 currency code");
  });
  it("refuses an unknown key at the top of an entry", () => {
    const e = refusal(() => parseTariffs(tariffFile([version()], { Currency: "EUR" }), "tariffs.json"));
    expect(e.message).toBe(
      'tariffs.json: entry 0 (std), field Currency: unknown field "Currency" (did you mean "currency"?)',
    );
  });
  it("refuses an empty file", () => {
    expect(refusal(() => parseTariffs([], "tariffs.json")).message).toBe(
      "tariffs.json: (file): the file holds no tariffs",
    );
  });
  it("takes fees in the currency's minor unit: JPY whole, KWD 3 decimals", () => {
    const pkg = (fee: string) =>
      version({
        packages: [{ product: "moments.engaged_people", includedQuantity: 1, fee, overageUnitPrice: "0.5" }],
      });
    expect(() => parseTariffs(tariffFile([pkg("100")], { currency: "JPY" }))).not.toThrow();
    expect(refusal(() => parseTariffs(tariffFile([pkg("100.5")], { currency: "JPY" }))).field).toBe(
      "versions.0.packages.0.fee",
    );
    expect(() => parseTariffs(tariffFile([pkg("1.125")], { currency: "KWD" }))).not.toThrow();
  });
  it("takes unit prices to 6 decimals and match keys that are the product's dimensions", () => {
    const [t] = parseTariffs(
      tariffFile([
        version({
          rates: [
            {
              product: "voice.minute",
              match: { service: "calls", direction: "outbound" },
              unitPrice: "0.123456",
            },
          ],
        }),
      ]),
    );
    expect(t?.versions[0]?.rates[0]?.unitPrice).toBe("0.123456");
  });

  describe("G9 notice periods", () => {
    /** A version pricing one product, published and in force at the given instants. */
    const pricing = (product: string) => (price: string, publishedAt: string, effectiveFrom: string) =>
      version({ publishedAt, effectiveFrom, rates: [{ product, unitPrice: price }] });
    const genai = pricing("genai.interaction");
    const freeform = pricing("whatsapp.freeform");
    const FIRST = ["2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z"] as const;
    it.each([
      [
        "genai 8 days exactly: allowed",
        genai("0.01", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        genai("0.02", "2025-02-01T00:00:00Z", "2025-02-09T00:00:00Z"),
        true,
      ],
      [
        "genai one second short of 8 days: refused",
        genai("0.01", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        genai("0.02", "2025-02-01T00:00:01Z", "2025-02-09T00:00:00Z"),
        false,
      ],
      [
        "genai unchanged price: no notice needed",
        genai("0.01", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        genai("0.01", "2025-02-08T00:00:00Z", "2025-02-09T00:00:00Z"),
        true,
      ],
      [
        "whatsapp.freeform 6 days: refused",
        freeform("0.005", ...FIRST),
        freeform("0.006", "2025-03-01T00:00:00Z", "2025-03-07T00:00:00Z"),
        false,
      ],
      [
        "whatsapp.freeform 7 days: allowed",
        freeform("0.005", ...FIRST),
        freeform("0.006", "2025-03-01T00:00:00Z", "2025-03-08T00:00:00Z"),
        true,
      ],
      [
        "the first version is exempt",
        genai("0.01", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        undefined,
        true,
      ],
    ])("%s", (_n, v1, v2, ok) => {
      const load = () => parseTariffs(tariffFile(v2 ? [v1, v2] : [v1]), "tariffs.json");
      if (ok) expect(load).not.toThrow();
      else
        expect(refusal(load).message).toMatch(
          /tariffs.json: entry 0 \(std\), field versions.1.effectiveFrom: notice-period breach/,
        );
    });
  });
});

describe("accounts file", () => {
  const tariffs = parseTariffs(tariffFile([version()]));
  const acct = (over: Record<string, unknown> = {}) => ({
    accountId: "acme",
    name: "Acme",
    currency: "EUR",
    tariffId: "std",
    ...over,
  });
  it("applies the rating-rules defaults", () => {
    const [a] = parseAccounts([acct()], tariffs);
    expect(a).toMatchObject({ timezone: "UTC", billingChannel: "direct", commitments: [] });
    expect(a?.settings).toMatchObject({
      answersSessionTimeoutMinutes: 1440,
      recordingLimit: 10,
      conversationsFullSolution: false,
    });
  });
  it.each([
    ["currency mismatch", acct({ currency: "USD" }), "currency", /differs from tariff std currency EUR/],
    ["unknown tariff", acct({ tariffId: "nope" }), "tariffId", /unknown tariff/],
    ["unknown time zone", acct({ timezone: "Mars/Olympus" }), "timezone", /IANA/],
    [
      "missing Azure settings",
      acct({ billingChannel: "azure-marketplace" }),
      "azure",
      /required when billingChannel is azure-marketplace/,
    ],
    [
      "a misspelt key (timeZone for timezone)",
      acct({ timeZone: "Europe/Istanbul" }),
      "timeZone",
      /unknown field "timeZone" \(did you mean "timezone"\?\)/,
    ],
    [
      "an unknown key in settings",
      acct({ settings: { recordingLimits: 5 } }),
      "settings.recordingLimits",
      /unknown field "recordingLimits"/,
    ],
    [
      "an unknown key in a commitment",
      acct({ commitments: [{ serviceId: "s", minimumAmount: "1.00", minimum: "2" }] }),
      "commitments.0.minimum",
      /unknown field "minimum"/,
    ],
    ["a currency that is not ISO 4217", acct({ currency: "XYZ" }), "currency", /not an ISO 4217 currency/],
    ["a time-zone offset", acct({ timezone: "+03:00" }), "timezone", /IANA/],
    [
      "a day that does not exist",
      acct({ settings: { namedUserPricingStart: "2025-02-30" } }),
      "settings.namedUserPricingStart",
      /not a real calendar day/,
    ],
    [
      "a minimum amount with 7 decimals",
      acct({ commitments: [{ serviceId: "s", minimumAmount: "100.0000001" }] }),
      "commitments.0.minimumAmount",
      /has 7 decimals; EUR amounts have at most 2/,
    ],
    [
      "a Marketplace dimension key that is no product",
      acct({
        billingChannel: "azure-marketplace",
        azure: { resourceId: "r", planId: "p", dimensions: { "sms.mtt": "sms" } },
      }),
      "azure.dimensions.sms.mtt",
      /neither a product code nor product.category/,
    ],
    [
      "an included quantity of no plan dimension",
      acct({
        billingChannel: "azure-marketplace",
        azure: {
          resourceId: "r",
          planId: "p",
          dimensions: { "whatsapp.template.marketing": "wa_mkt" },
          includedQuantities: { wa_mtk: 10 },
        },
      }),
      "azure.includedQuantities.wa_mtk",
      /not one of the plan's dimensions/,
    ],
    [
      "session timeout above 24 h",
      acct({ settings: { answersSessionTimeoutMinutes: 1441 } }),
      "settings.answersSessionTimeoutMinutes",
      /1440/,
    ],
  ])("refuses %s", (_n, a, field, message) => {
    const e = refusal(() => parseAccounts([acct({ accountId: "ok" }), a], tariffs, "accounts.json"));
    expect(e.message).toContain("accounts.json: entry 1 (acme)");
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
  });
  it("names file, entry and field for a misspelt key in one message", () => {
    const e = refusal(() =>
      parseAccounts([acct({ timeZone: "Europe/Istanbul" })], tariffs, "examples/x/accounts.json"),
    );
    expect(e.message).toBe(
      'examples/x/accounts.json: entry 0 (acme), field timeZone: unknown field "timeZone" (did you mean "timezone"?)',
    );
  });
  it("takes an account id of 1,024 bytes of UTF-8 (a sort key of the stored configuration), not more", () => {
    const id = "ş".repeat(512); // 1,024 bytes, 512 characters
    expect(parseAccounts([acct({ accountId: id })], tariffs)[0]?.accountId).toBe(id);
    const e = refusal(() => parseAccounts([acct({ accountId: `${id}x` })], tariffs, "accounts.json"));
    expect(e.field).toBe("accountId");
    expect(e.message).toMatch(/at most 1024 bytes \(UTF-8\)/);
    const t = refusal(() =>
      parseTariffs(tariffFile([version()], { tariffId: "t".repeat(1025) }), "tariffs.json"),
    );
    expect(t.field).toBe("tariffId");
  });
  it("refuses an empty accounts file", () => {
    expect(refusal(() => parseAccounts([], tariffs, "accounts.json")).message).toBe(
      "accounts.json: (file): the file holds no accounts",
    );
  });
  it("accepts real days, a leap day included", () => {
    const [a] = parseAccounts([acct({ settings: { namedUserPricingStart: "2024-02-29" } })], tariffs);
    expect(a?.settings.namedUserPricingStart).toBe("2024-02-29");
  });
});
