/** Canonical event order (rating-rules G12): time, then inbound before outbound, then source, then id. */
import type { LedgerEvent } from "./types.js";

const INBOUND_TYPES = new Set([
  "sms.mo",
  "mms.mo",
  "rcs.mo",
  "viber.inbound",
  "viber_bot.inbound",
  "whatsapp.inbound",
]);

export function isInbound(e: LedgerEvent): boolean {
  if (INBOUND_TYPES.has(e.type)) return true;
  if (e.type === "answers.message" || e.type === "conversations.message")
    return e.data.direction === "inbound";
  if (e.type === "voice.call") return e.data.direction === "inbound";
  return false;
}

const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function compareEvents(a: LedgerEvent, b: LedgerEvent): number {
  return (
    a.t - b.t ||
    (isInbound(a) ? 0 : 1) - (isInbound(b) ? 0 : 1) ||
    cmpStr(a.source, b.source) ||
    cmpStr(a.id, b.id)
  );
}

export const canonicalOrder = (events: readonly LedgerEvent[]): LedgerEvent[] =>
  [...events].sort(compareEvents);
