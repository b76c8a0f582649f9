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
  ])("refuses %s", (_n, versions, field, message) => {
    const e = refusal(() => parseTariffs(tariffFile(versions), "tariffs.json"));
    expect(e.file).toBe("tariffs.json");
    expect(e.entry).toBe("entry 0 (std)");
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
  });

  describe("G9 notice periods", () => {
    const genai = (price: string, publishedAt: string, effectiveFrom: string) =>
      version({ publishedAt, effectiveFrom, rates: [{ product: "genai.interaction", unitPrice: price }] });
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
        version({ rates: [{ product: "whatsapp.freeform", unitPrice: "0.005" }] }),
        version({
          publishedAt: "2025-03-01T00:00:00Z",
          effectiveFrom: "2025-03-07T00:00:00Z",
          rates: [{ product: "whatsapp.freeform", unitPrice: "0.006" }],
        }),
        false,
      ],
      [
        "whatsapp.freeform 7 days: allowed",
        version({ rates: [{ product: "whatsapp.freeform", unitPrice: "0.005" }] }),
        version({
          publishedAt: "2025-03-01T00:00:00Z",
          effectiveFrom: "2025-03-08T00:00:00Z",
          rates: [{ product: "whatsapp.freeform", unitPrice: "0.006" }],
        }),
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
});
