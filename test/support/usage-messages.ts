/**
 * Usage events as plain objects (not yet JSON), for message bodies of one event or an array of them:
 * an sms.mt of acme on 2 July 2025 unless `over` says otherwise.
 */
import { stdTariffs } from "./events.js";

export type Ev = Record<string, unknown>;

/** Prices for the messages below (TR sms dearer elsewhere, genai, a WhatsApp template, voice): EUR, `std`. */
export const messageTariffs = stdTariffs([
  { product: "sms.mt", match: { country: "TR" }, unitPrice: "0.012" },
  { product: "sms.mt", unitPrice: "0.05" },
  { product: "genai.interaction", unitPrice: "0.002" },
  { product: "whatsapp.template", match: { category: "marketing" }, unitPrice: "0.05" },
  { product: "voice.minute", unitPrice: "0.011" },
]);

export const event = (id: string, type: string, data: Ev, over: Ev = {}): Ev => ({
  specversion: "1.0",
  id,
  source: "/gw",
  type,
  subject: "acme",
  time: "2025-07-02T09:00:00Z",
  data,
  ...over,
});

export const sms = (id: string, over: Ev = {}, country = "TR") =>
  event(id, "sms.mt", { to: id, country, status: "submitted" }, over);
