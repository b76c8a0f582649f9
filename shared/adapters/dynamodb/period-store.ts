/**
 * Period state on the billing table: close records and their claims, the invoice lines and line
 * explanations a close writes under its claim, late markers, close report chunks, and the period
 * index the close enters (period-index.ts). Items: items/closes.ts, items/late-markers.ts,
 * items/report-chunks.ts, items/explanations.ts, items/period-index.ts.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { InvoiceLine } from "../../contract/invoice-line.js";
import type { LineExplanation } from "../../core/rating/explain/explain.js";
import type { PeriodId } from "../../core/time.js";
import type { ExplanationStore } from "../../ports/explanations.js";
import type { KeyedPeriodIndexEntry, PeriodIndex, PeriodIndexEntry } from "../../ports/period-index.js";
import type { ClaimOutcome, CloseClaim, CloseRecord, LateMarker, PeriodStore } from "../../ports/storage.js";
import { explanationPuts, readExplanation } from "./explanations.js";
import {
  billedKey,
  closeRecordItem,
  LINE_PREFIX,
  legacyLineItem,
  lineChunkItem,
  linesOfReference,
} from "./items/closes.js";
import { accountPk } from "./items/keys.js";
import { LATE_PREFIX, lateMarkerItem } from "./items/late-markers.js";
import { usageMarkerItem } from "./items/usage-period.js";
import { closeLineChunks, linesOfItem } from "./line-chunks.js";
import { isConditionFailure, queryAll, transactUnderClaim, writeAllUnderClaim } from "./paginate.js";
import * as periodIndex from "./period-index.js";
import { readReportChunk, writeReportChunks } from "./report-chunks.js";

/** Condition: the close record is still `owner`'s "closing" claim. */
const heldBy = (owner: string, values: Record<string, unknown> = {}) => ({
  ConditionExpression: "#status = :closing AND #owner = :owner",
  ExpressionAttributeNames: closeRecordItem.names("status", "owner"),
  ExpressionAttributeValues: { ":closing": "closing", ":owner": owner, ...values },
});

export class DynamoPeriodStore implements PeriodStore, PeriodIndex, ExplanationStore {
  protected readonly doc: DynamoDBDocumentClient;
  constructor(
    /** The table's client and name, for diagnostics over the same table (test/support/table-scans.ts). */
    readonly client: DynamoDBClient,
    readonly table: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  // ---- PeriodStore ----
  async getClose(accountId: string, period: PeriodId): Promise<CloseRecord | undefined> {
    const r = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: closeRecordItem.key({ accountId, period }),
        ConsistentRead: true,
      }),
    );
    return r.Item ? closeRecordItem.decode(r.Item) : undefined;
  }

  async claimClose(
    accountId: string,
    period: PeriodId,
    claim: CloseClaim,
    now: number,
  ): Promise<ClaimOutcome> {
    try {
      const r = await this.doc.send(
        new PutCommand({
          TableName: this.table,
          ReturnValues: "ALL_OLD",
          Item: closeRecordItem.item({
            accountId,
            period,
            status: "closing",
            owner: claim.owner,
            startedAt: claim.startedAt,
            leaseUntil: claim.leaseUntil,
          }),
          // No record yet, or a "closing" one whose run crashed (lease passed; none: written before leases).
          ConditionExpression:
            "attribute_not_exists(pk) OR (#status = :closing AND (attribute_not_exists(#leaseUntil) OR #leaseUntil < :now))",
          ExpressionAttributeNames: closeRecordItem.names("status", "leaseUntil"),
          ExpressionAttributeValues: { ":closing": "closing", ":now": now },
        }),
      );
      return { kind: "claimed", takenOver: r.Attributes !== undefined };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    const record = await this.getClose(accountId, period);
    if (!record) throw new Error(`close record of ${accountId} ${period} vanished while claiming it`);
    return record.status === "closed" ? { kind: "closed", record } : { kind: "claimed-by-other", record };
  }

  async writeCloseLines(
    accountId: string,
    period: PeriodId,
    owner: string,
    lines: InvoiceLine[],
    opts: { fresh?: boolean; flagUsage?: boolean; explanations?: readonly LineExplanation[] } = {},
  ): Promise<boolean> {
    const chunks = closeLineChunks(accountId, period, lines);
    const writing = new Set(chunks.map((c) => String(c.item.sk)));
    // Items of a crashed attempt at this period that this attempt does not write (e.g. the tariff
    // changed): chunks (`period`) and lines stored one per item, before lines were chunked (`line.period`).
    const stale = opts.fresh
      ? []
      : (
          await queryAll(this.doc, this.table, {
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
            // A chunk's `period`, or the `period` field of the line an item from before chunks holds.
            FilterExpression: "#period = :period OR #line.#period = :period",
            ExpressionAttributeNames: { ...lineChunkItem.names("period"), ...legacyLineItem.names("line") },
            ExpressionAttributeValues: { ":pk": billedKey(accountId), ":p": LINE_PREFIX, ":period": period },
            ProjectionExpression: "pk, sk",
            ConsistentRead: true,
          })
        ).filter((i) => !writing.has(String(i.sk)));
    const writes = [
      ...chunks.map((c) => ({ item: { Put: { TableName: this.table, Item: c.item } }, bytes: c.bytes })),
      ...stale.map((i) => ({
        item: { Delete: { TableName: this.table, Key: { pk: i.pk, sk: i.sk } } },
        bytes: 200,
      })),
      // The usage marker (usage/markers.ts), flagged closed: a later close skips this period's record.
      ...(opts.flagUsage
        ? [
            {
              item: {
                Update: {
                  TableName: this.table,
                  Key: usageMarkerItem.key({ accountId, period }),
                  UpdateExpression: `SET ${usageMarkerItem.assign("closed")}`,
                  ExpressionAttributeNames: usageMarkerItem.names("closed"),
                  ExpressionAttributeValues: usageMarkerItem.values({ closed: true }),
                },
              },
              bytes: 200,
            },
          ]
        : []),
      // Each line's explanation in the same transactions: a small close is one write.
      ...explanationPuts(this.table, accountId, period, opts.explanations ?? []),
    ];
    // Every write in a transaction with a check that this run still holds the claim: a closed period,
    // or one another run took over, is never written (G7: closed periods are immutable).
    return writeAllUnderClaim(this.doc, this.claimCheck(accountId, period, owner), writes);
  }

  async finishClose(
    accountId: string,
    period: PeriodId,
    owner: string,
    at: number,
    report: unknown,
    opts: { listPeriod?: boolean; references?: readonly PeriodId[] } = {},
  ): Promise<boolean> {
    if (opts.listPeriod !== false) await periodIndex.notePeriod(this.doc, this.table, period);
    // The record closed (its condition: `owner` still holds the claim) and the account entered in
    // the period index, atomically.
    const closed = heldBy(owner, closeRecordItem.values({ status: "closed", closedAt: at, report }));
    return transactUnderClaim(this.doc, [
      {
        Update: {
          TableName: this.table,
          Key: closeRecordItem.key({ accountId, period }),
          UpdateExpression:
            "SET #status = :status, #closedAt = :closedAt, #report = :report REMOVE #leaseUntil",
          ...closed,
          ExpressionAttributeNames: {
            ...closed.ExpressionAttributeNames,
            ...closeRecordItem.names("closedAt", "report", "leaseUntil"),
          },
        },
      },
      periodIndex.periodIndexPut(this.table, accountId, period, at, opts.references ?? []),
    ]);
  }

  /** A transaction's check that `owner` still holds the account-period's "closing" claim. */
  private claimCheck(accountId: string, period: PeriodId, owner: string) {
    return {
      ConditionCheck: {
        TableName: this.table,
        Key: closeRecordItem.key({ accountId, period }),
        ...heldBy(owner),
      },
    };
  }

  // Typed by the port, so the parameters are declared once (shared/ports/storage.ts).
  readonly writeReportChunks: PeriodStore["writeReportChunks"] = (accountId, period, owner, chunks, keep) =>
    writeReportChunks(
      this.doc,
      this.table,
      this.claimCheck(accountId, period, owner),
      accountId,
      period,
      chunks,
      keep,
    );

  readReportChunk(accountId: string, period: PeriodId, list: string, chunk: number) {
    return readReportChunk(this.doc, this.table, accountId, period, list, chunk);
  }

  async linesForReference(accountId: string, referencePeriod: PeriodId): Promise<InvoiceLine[]> {
    const items = await queryAll(this.doc, this.table, {
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
      ExpressionAttributeValues: { ":pk": billedKey(accountId), ":p": linesOfReference(referencePeriod) },
      ConsistentRead: true,
    });
    return items.flatMap(linesOfItem);
  }

  async markLate(accountId: string, period: PeriodId, at: number, opts: { later?: boolean } = {}) {
    // An update, not a put: a `later` flag already set stays set (another event of the period carries state).
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: lateMarkerItem.key({ accountId, period }),
        UpdateExpression: `SET ${lateMarkerItem.assign("period", "markedAt")}, #later = ${opts.later ? ":later" : "if_not_exists(#later, :later)"}`,
        ExpressionAttributeNames: lateMarkerItem.names("period", "markedAt", "later"),
        ExpressionAttributeValues: lateMarkerItem.values({
          period,
          markedAt: at,
          later: opts.later === true,
        }),
      }),
    );
  }

  async latePeriods(accountId: string): Promise<LateMarker[]> {
    const items = await queryAll(this.doc, this.table, {
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
      ExpressionAttributeValues: { ":pk": accountPk(accountId), ":p": LATE_PREFIX },
      ConsistentRead: true,
    });
    return items.map(lateMarkerItem.decode);
  }

  async clearLate(accountId: string, period: PeriodId, markedAt: number): Promise<void> {
    // Only the marker that was read: one written meanwhile stays for the next close.
    await this.doc
      .send(
        new DeleteCommand({
          TableName: this.table,
          Key: lateMarkerItem.key({ accountId, period }),
          ConditionExpression: "#markedAt = :markedAt",
          ExpressionAttributeNames: lateMarkerItem.names("markedAt"),
          ExpressionAttributeValues: lateMarkerItem.values({ markedAt }),
        }),
      )
      .catch((e: unknown) => {
        if (!isConditionFailure(e)) throw e;
      });
  }

  // ---- ExplanationStore: explanations.ts ----
  explanation(lineId: string): Promise<LineExplanation | undefined> {
    return readExplanation(this.doc, this.table, lineId);
  }

  // ---- PeriodIndex: period-index.ts ----
  closedAccounts(period: PeriodId): Promise<PeriodIndexEntry[]> {
    return periodIndex.closedAccounts(this.doc, this.table, period);
  }

  closedAccountsFrom(period: PeriodId, fromKey?: string): AsyncIterable<KeyedPeriodIndexEntry> {
    return periodIndex.closedAccountsFrom(this.doc, this.table, period, fromKey);
  }

  closedAccount(accountId: string, period: PeriodId): Promise<PeriodIndexEntry | undefined> {
    return periodIndex.closedAccount(this.doc, this.table, accountId, period);
  }

  async markExported(entry: Required<Omit<PeriodIndexEntry, "references">>): Promise<void> {
    await periodIndex.markExported(this.doc, this.table, entry);
    // One update lists the period (an entry created by a repair of a close from before the index, or
    // a close that left the listing to its exports: finishClose `listPeriod`) and counts the change.
    await this.notePeriodChanged(entry.period);
  }

  closedPeriods(): Promise<PeriodId[]> {
    return periodIndex.closedPeriods(this.doc, this.table);
  }

  notePeriodChanged(period: PeriodId): Promise<void> {
    return periodIndex.notePeriod(this.doc, this.table, period, { changed: true });
  }

  periodsToManifest(): Promise<{ period: PeriodId; changes: number }[]> {
    return periodIndex.periodsToManifest(this.doc, this.table);
  }

  markManifested(period: PeriodId, changes: number): Promise<void> {
    return periodIndex.markManifested(this.doc, this.table, period, changes);
  }
}
