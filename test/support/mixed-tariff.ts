import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import { type BillingConfig, parseTariffs } from "../../shared/core/config.js";
import { invoiceLinesToCsv, sortInvoiceLines } from "../../shared/core/rating/invoice.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { configOf } from "./scenario.js";

/** A tariff version pricing every product the property tests generate. */
export const mixedTariffVersion = {
  publishedAt: "2024-12-01T00:00:00Z",
  effectiveFrom: "2025-01-01T00:00:00Z",
  rates: [
    { product: "sms.mt", match: { country: "TR" }, unitPrice: "0.012" },
    {
      product: "sms.mt",
      match: { country: "DE" },
      tiers: {
        mode: "graduated",
        steps: [
          { upTo: 3, unitPrice: "0.07" },
          { upTo: null, unitPrice: "0.05" },
        ],
      },
    },
    { product: "sms.mo", unitPrice: "0.005" },
    { product: "whatsapp.template", match: { category: "marketing" }, unitPrice: "0.05" },
    { product: "whatsapp.template", match: { category: "utility" }, unitPrice: "0.01" },
    { product: "whatsapp.template", match: { category: "authentication" }, unitPrice: "0.03" },
    { product: "whatsapp.conversation", unitPrice: "0.02" },
    { product: "whatsapp.freeform", unitPrice: "0.005" },
    { product: "viber.message", unitPrice: "0.0125" },
    { product: "viber.session", unitPrice: "0.10" },
    { product: "viber_bot.message", unitPrice: "0.004" },
    { product: "messenger.active_user", unitPrice: "0.10" },
    { product: "voice.minute", unitPrice: "0.011" },
    { product: "voice.amd", unitPrice: "0.005" },
    { product: "genai.interaction", unitPrice: "0.002" },
    { product: "number.setup", unitPrice: "1.00" },
    { product: "number.monthly", unitPrice: "2.00" },
  ],
  packages: [
    { product: "moments.engaged_people", includedQuantity: 1, fee: "200.00", overageUnitPrice: "0.15" },
    { product: "answers.active_sessions", includedQuantity: 2, fee: "50.00", overageUnitPrice: "0.20" },
    { product: "conversations.active_agents", includedQuantity: 1, fee: "30.00", overageUnitPrice: "10.00" },
    {
      product: "conversations.active_conversations",
      includedQuantity: 2,
      fee: "10.00",
      overageUnitPrice: "0.50",
    },
  ],
};

/**
 * The two accounts of the delivery-order tests, "in-order" and "shuffled" (each with a Viber
 * commitment), on tariff "mix" of `version`: one delivery each, their lines must match.
 */
export const twinDeliveryConfig = (version: typeof mixedTariffVersion = mixedTariffVersion): BillingConfig =>
  configOf(
    parseTariffs([{ tariffId: "mix", currency: "EUR", versions: [version] }]),
    ["in-order", "shuffled"].map((accountId) => ({
      accountId,
      commitments: [{ serviceId: "svc-1", minimumAmount: "5.00" }],
    })),
  );

/** A generated event as the CloudEvent `account` sends (its own subject and id), without `t`. */
export const deliveredBy = (e: LedgerEvent, account: string) => {
  const { t: _t, ...envelope } = e;
  return { ...envelope, subject: account, id: `${account}-${e.id}` };
};

/** One twin account's invoice lines as CSV, account and line ids blanked: the twins' CSVs must be equal. */
export const twinCsv = (lines: readonly InvoiceLine[], account: string): string =>
  invoiceLinesToCsv(
    sortInvoiceLines(
      lines.filter((l) => l.account_id === account).map((l) => ({ ...l, account_id: "x", line_id: "" })),
    ),
  );
