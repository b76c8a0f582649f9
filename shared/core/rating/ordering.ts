/** Canonical event order (rating-rules G12): time, then inbound before outbound, then source, then id. */

import { compareStrings } from "../compare.js";
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

export function compareEvents(a: LedgerEvent, b: LedgerEvent): number {
  return (
    a.t - b.t ||
    (isInbound(a) ? 0 : 1) - (isInbound(b) ? 0 : 1) ||
    compareStrings(a.source, b.source) ||
    compareStrings(a.id, b.id)
  );
}

export const canonicalOrder = (events: readonly LedgerEvent[]): LedgerEvent[] =>
  [...events].sort(compareEvents);
