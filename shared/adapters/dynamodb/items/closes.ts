/**
 * What a close writes: its record and its invoice lines, under a key prefix of their own. Ingest,
 * which handles untrusted input, may write usage and late markers under `ACCT#` but holds no write
 * grant on `BILL#`, which IAM's `dynamodb:LeadingKeys` can tell apart (it cannot restrict sort keys).
 *
 * | item              | pk             | sk                                            | attributes |
 * |-------------------|----------------|-----------------------------------------------|------------|
 * | close record      | BILL#<account> | CLOSE#<period>                                | accountId, period, status (closing \| closed), owner, startedAt, leaseUntil, closedAt, report (JSON) |
 * | lines of a close  | BILL#<account> | LINE#<ref period>#<period>#C<chunk, 4 digits> | `z` deflate of the JSON array of ≤ 100 lines and ≤ 300,000 UTF-8 bytes (line id order), `n` their count, period |
 * | one line (before chunks) | BILL#<account> | LINE#<ref period>#<period>#<line id>   | `line` (read only) |
 *
 * Chunk keys (`C…`) and line ids (`L-…`) never collide under the same `LINE#<ref>#<period>#` prefix
 * and readers take both shapes, so one Query by reference period reads old and new items alike.
 */
import type { InvoiceLine } from "../../../contract/invoice-line.js";
import type { PeriodId } from "../../../core/time.js";
import { ITEM_LIMIT_BYTES } from "../item-size.js";
import { bytes, custom, itemCodec, json, map, num, opt, str } from "./codec.js";
import { accountPeriodKey } from "./keys.js";

export const billedKey = (accountId: string): string => `BILL#${accountId}`;
export const CLOSE_PREFIX = "CLOSE#";
export const LINE_PREFIX = "LINE#";
/** Every line item of a reference period, whatever period's close emitted it, starts so. */
export const linesOfReference = (referencePeriod: PeriodId) => `${LINE_PREFIX}${referencePeriod}#`;

export const closeRecordItem = itemCodec({
  kind: "close record",
  key: accountPeriodKey(billedKey, CLOSE_PREFIX),
  fields: {
    accountId: str("accountId"),
    period: str<PeriodId>("period"),
    status: custom<"closing" | "closed">(
      "status",
      { to: (v) => v, from: (v) => (v === "closed" ? "closed" : "closing") },
      { to: (S) => ({ S }), from: (v) => (v?.S === "closed" ? "closed" : "closing") },
    ),
    /** The run that holds (or last held) the claim. */
    owner: opt(str("owner")),
    startedAt: num("startedAt"),
    /** A "closing" claim may be taken over once this instant has passed (a crashed run). */
    leaseUntil: opt(num("leaseUntil")),
    closedAt: opt(num("closedAt")),
    /** The close report with its samples (its long lists in report chunks): < 100 KB. */
    report: opt(json<unknown>("report")),
  },
  maxBytes: ITEM_LIMIT_BYTES,
});

export const lineChunkItem = itemCodec({
  kind: "invoice lines",
  key: (k: { accountId: string; referencePeriod: PeriodId; period: PeriodId; chunk: number }) => ({
    pk: billedKey(k.accountId),
    sk: `${linesOfReference(k.referencePeriod)}${k.period}#C${String(k.chunk).padStart(4, "0")}`,
  }),
  fields: {
    /** The closed period that emitted the lines (a stale chunk of a re-close is found by it). */
    period: str<PeriodId>("period"),
    lines: num("n"),
    /** Checked ≤ MAX_COMPRESSED_BYTES when compressed (item-size.ts). */
    deflated: bytes("z"),
  },
  maxBytes: ITEM_LIMIT_BYTES,
});

/** A line stored alone, before chunks (read only: a re-close replaces it by chunks). */
export const legacyLineItem = itemCodec({
  kind: "invoice line",
  key: (k: { accountId: string; line: InvoiceLine }) => ({
    pk: billedKey(k.accountId),
    sk: `${linesOfReference(k.line.reference_period)}${k.line.period}#${k.line.line_id}`,
  }),
  fields: { line: map<InvoiceLine>("line") },
  maxBytes: ITEM_LIMIT_BYTES,
});
