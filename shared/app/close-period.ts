/**
 * Closing a billing period (rating-rules G7, G8, G10; contract §4): rate every account's period
 * from its ledger, emit invoice lines, and bill late events of earlier closed periods as adjustments.
 */
import { randomUUID } from "node:crypto";
import type { Account } from "../contract/accounts.js";
import type { InvoiceLine } from "../contract/invoice-line.js";
import { periodAfterEnd, type RatedVersion, versionForPeriod } from "../core/account-versions.js";
import type {
  AccountCloseOutcome,
  AccountCloseReport,
  BeingClosed,
  ClosedAccount,
} from "../core/close-report.js";
import { compareStrings } from "../core/compare.js";
import { type BillingConfig, configIndex, UnknownAccountError } from "../core/config.js";
import { formatMoney, ZERO } from "../core/money.js";
import { builtInProducts, type ProductCatalogue } from "../core/products/index.js";
import { adjustmentLines, sortInvoiceLines, toInvoiceLine } from "../core/rating/invoice.js";
import type { SuspenseItem } from "../core/rating/types.js";
import { MINUTE, type PeriodId, parsePeriod, periodOf, periodWindow } from "../core/time.js";
import type { Clock } from "../ports/clock.js";
import type { ExplanationStore } from "../ports/explanations.js";
import type { ExportObjects } from "../ports/export-objects.js";
import type { LateConflictStore } from "../ports/late-conflicts.js";
import type { PeriodIndex } from "../ports/period-index.js";
import type { CloseRecord, DeadLetterStore, PeriodStore } from "../ports/storage.js";
import type { UnclosedUsageIndex } from "../ports/unclosed-usage.js";
import { type AccountDirectory, shardsOf, type UsageStore } from "../ports/usage-store.js";
import { writeReportLists } from "./close-report.js";

export { UnknownAccountError };

import { rawEventsReadOnce } from "./close-budget.js";
import { explainClose, type RecheckedPeriod } from "./explain-lines.js";
import { foldForAccount } from "./fold-usage.js";
import { exportAfterClose } from "./period-exports.js";
import {
  loadPeriodState,
  noStatefulHistory,
  rateAccountPeriod,
  rateForward,
  snapshotAfter,
} from "./rate-account-period.js";

/**
 * How long a close run's claim on an account-period lasts: longer than any run can live (the close
 * Lambda's timeout is 15 minutes), so a claim still "closing" after it belongs to a crashed run and
 * the next run takes it over; never while the claimant may still be writing.
 */
export const CLOSE_LEASE_MS = 20 * MINUTE;

export interface CloseDeps {
  /** Counters and raw events of each period (usage-store.ts). */
  readonly usage: UsageStore;
  readonly periods: PeriodStore;
  readonly deadLetters: DeadLetterStore;
  readonly clock: Clock;
  readonly config: () => Promise<BillingConfig>;
  /**
   * O(1) lookup of one account and its tariff (closeAccount): a worker closing one account reads
   * two items, not the whole configuration. Without it, closeAccount looks the account up in `config`.
   */
  readonly accounts?: AccountDirectory;
  /** Where each line's explanation goes (explain-lines.ts); none written without it. */
  readonly explanations?: ExplanationStore;
  /**
   * The exports bucket by period (period-exports.ts): with it, each account's close is followed
   * by its objects, written from the committed state; a re-run repairs missing ones.
   */
  readonly exports?: { readonly objects: ExportObjects; readonly index: PeriodIndex };
  /** Accounts with usage not closed yet (unclosed-usage.ts): a closed account-period leaves it. */
  readonly unclosed?: UnclosedUsageIndex;
  /** Conflicts of periods closed before they arrived (G5): listed by the account's next close report. */
  readonly lateConflicts?: LateConflictStore;
  /**
   * The products rated, carried and explained (default: the built-in registry); the same catalogue
   * as the ingest that stored the usage, or a type it counted or kept raw is rated by no rule.
   */
  readonly products?: ProductCatalogue;
}

export async function closePeriod(
  periodId: PeriodId,
  deps: CloseDeps,
  opts: { accountIds?: readonly string[] } = {},
): Promise<AccountCloseOutcome[]> {
  parsePeriod(periodId); // a bad period id fails here, before any close record is written
  const config = await deps.config();
  const index = configIndex(config);
  const accounts = config.accounts.filter((a) => !opts.accountIds || opts.accountIds.includes(a.accountId));
  const reports: AccountCloseOutcome[] = [];
  // An account whose configuration changed is closed with the version that rates the period (its
  // history, from the directory); one with a single version with `config` as given.
  for (const account of accounts) {
    const history = (await deps.accounts?.lookup(account.accountId))?.history;
    reports.push(
      history && history.versions.length > 1
        ? await closeAccount(account.accountId, periodId, deps)
        : await closeThenExport({ account, tariff: index.tariffOf(account), periodId }, deps),
    );
  }
  // Accounts with usage in the period that are no longer configured (ended, contract §2) are closed
  // too, with their last version.
  if (deps.unclosed && deps.accounts && !opts.accountIds) {
    const configured = new Set(config.accounts.map((a) => a.accountId));
    for (const u of await deps.unclosed.unclosedUsage(periodId))
      if (!configured.has(u.accountId)) reports.push(await closeAccount(u.accountId, periodId, deps));
  }
  return reports;
}

/**
 * Closes one account's period (the close worker's unit of work): looks the account
 * and its tariff up, then runs the same per-account close as closePeriod. Throws
 * UnknownAccountError when the account (or its tariff) is not configured.
 */
export async function closeAccount(
  accountId: string,
  periodId: PeriodId,
  deps: CloseDeps,
): Promise<AccountCloseOutcome> {
  parsePeriod(periodId);
  let found: { account: Account; tariff: ReturnType<ReturnType<typeof configIndex>["tariffOf"]> } | undefined;
  if (deps.accounts) {
    // The version of the account's configuration in force for the period (contract §2): an ended
    // account is closed with its last one, a changed one with the one that rates this period.
    const rated = await deps.accounts.lookup(accountId);
    found = rated?.history ? versionForPeriod(rated.history, periodId) : rated;
    if (rated?.history) {
      const { history } = rated;
      return closeThenExport(
        {
          account: found!.account,
          tariff: found!.tariff,
          periodId,
          versionOf: (p) => versionForPeriod(history, p),
          // Contract §2: after its end the account was not a customer: its late events' adjustments only.
          adjustmentsOnly: periodAfterEnd(history, periodId),
        },
        deps,
      );
    }
  } else {
    const index = configIndex(await deps.config());
    const account = index.account(accountId);
    found = account ? { account, tariff: index.tariffOf(account) } : undefined;
  }
  if (!found) throw new UnknownAccountError(`account ${accountId} is not configured (or its tariff is not)`);
  return closeThenExport({ account: found.account, tariff: found.tariff, periodId }, deps);
}

/** One account-period to close, and what rates it. */
interface CloseTarget {
  readonly account: Account;
  readonly tariff: ReturnType<ReturnType<typeof configIndex>["tariffOf"]>;
  readonly periodId: PeriodId;
  /** The configuration version rating each period (an account whose configuration changed). */
  readonly versionOf?: (p: PeriodId) => RatedVersion;
  /**
   * The period begins after the account's end: none of its own charges (recurring fees, packages,
   * minimums, commitments) are billed, only the adjustments of the earlier periods.
   */
  readonly adjustmentsOnly?: boolean;
}

/** The close, then (with an exports bucket) the account's objects by period from what it committed. */
async function closeThenExport(target: CloseTarget, deps: CloseDeps): Promise<AccountCloseOutcome> {
  const { account, periodId } = target;
  // The account's journal folded before the claim, so that its usage committed until now is in the
  // counters and pages the close reads (and not marked late by a fold that would see the claim).
  await foldForAccount(account.accountId, deps);
  // Each period's raw events read and held once for the whole run (a first close needs its period
  // for the rebuilt snapshot and for its rating).
  const run = { ...deps, usage: rawEventsReadOnce(deps.usage) };
  const { outcome, closed } = await closeAccountPeriod(target, run);
  if (deps.exports) await exportAfterClose({ periods: deps.periods, ...deps.exports }, outcome, closed);
  // Closed (now or before): the account-period leaves the unclosed-usage index; a crash before this
  // leaves it listed, so the scheduler requests the close again and this run removes it.
  if (outcome.status !== "being-closed") await deps.unclosed?.usageClosed(account.accountId, periodId);
  return outcome;
}

async function closeAccountPeriod(
  target: CloseTarget,
  deps: CloseDeps,
): Promise<{ outcome: AccountCloseOutcome; closed?: ClosedAccount }> {
  const { account, tariff, periodId, versionOf, adjustmentsOnly = false } = target;
  const products = deps.products ?? builtInProducts;
  // The claim is the first request: on a closed period its condition fails and the record is read then.
  const startedAt = deps.clock.now();
  const owner = randomUUID();
  const claim = await deps.periods.claimClose(
    account.accountId,
    periodId,
    { owner, startedAt, leaseUntil: startedAt + CLOSE_LEASE_MS },
    startedAt,
  );
  if (claim.kind === "closed") return { outcome: alreadyClosed(claim.record) };
  if (claim.kind === "claimed-by-other") return { outcome: beingClosed(claim.record) };
  // Once more under the claim: every journal committed before it is folded before anything is read
  // (write-then-check: what a fold applies from now on sees the claim and marks the period late).
  await foldForAccount(account.accountId, deps);
  const period = periodWindow(periodId, account.timezone);
  // Read after the close record exists: a later event sees it and marks the period late (ingest-usage.ts).
  // One period's state (rate-account-period.ts): this period's counters and raw events (and
  // the next period's first hours a rule reaches back from, §3.1) plus the carry-over snapshot at
  // its start; from the earliest late period on when closed periods received late events (G7, G10).
  const lastPeriod = periodOf(period.end + products.longestReachBack - 1, account.timezone);
  const [markers, latePeriods] = await Promise.all([
    deps.usage.usageMarkers(account.accountId),
    deps.periods.latePeriods(account.accountId),
  ]);
  const usagePeriods = markers.filter((p) => p.period <= lastPeriod);
  const currency = tariff.currency;
  const late = latePeriods.filter((l) => l.period < periodId);
  late.sort((a, b) => compareStrings(a.period, b.period));
  const lateSet = new Set(late.map((l) => l.period));
  // G7: a late event whose type carries state (products/<family>/index.ts) may change every later closed period
  // that state reaches. The rating goes forward from the earliest such period, and each later closed
  // period whose carried-in snapshot changed is re-rated and adjusted too; before its snapshot is
  // rewritten it is marked late itself, so that a crash after the rewrite still adjusts it on the
  // re-run. Late periods before that (their events change only themselves) are rated on their own.
  const walkFrom = late.find((l) => l.later)?.period ?? periodId;
  const reachedMarks: { period: PeriodId; markedAt: number }[] = [];
  const reached = async (p: PeriodId): Promise<boolean> => {
    const closed =
      usagePeriods.some((u) => u.period === p && u.closed === true) ||
      (await deps.periods.getClose(account.accountId, p)) !== undefined;
    if (!closed) return false; // never billed: its own close rates it from the corrected snapshot
    const markedAt = deps.clock.now();
    await deps.periods.markLate(account.accountId, p, markedAt, { later: true });
    reachedMarks.push({ period: p, markedAt });
    return true;
  };
  const forward = await rateForward(
    deps.usage,
    account,
    tariff,
    walkFrom,
    periodId,
    usagePeriods,
    lateSet,
    reached,
    versionOf,
    products,
  );
  for (const { period: p } of late)
    if (p < walkFrom)
      forward.ratings.set(
        p,
        rateAccountPeriod(
          versionOf?.(p).account ?? account,
          versionOf?.(p).tariff ?? tariff,
          await loadPeriodState(deps.usage, account, p, usagePeriods, undefined, products),
          products,
        ),
      );
  // Every earlier period to adjust, in order: those marked late, and those the carried state reached.
  const toAdjust = [...new Set([...late.map((l) => l.period), ...forward.reached])].sort(compareStrings);
  const rated = forward.ratings.get(periodId)!;
  // Still rated (its snapshot carries the state forward), but the account was not a customer then.
  const rating = adjustmentsOnly ? { ...rated, lines: [], suspense: [] } : rated;
  const lines: InvoiceLine[] = rating.lines.map((l) =>
    toInvoiceLine(account, currency, periodId, periodId, l),
  );

  // G7: re-rate each earlier closed period that received late events; bill only the difference.
  // G10: a period closed with suspense stays marked, so each close re-rates it until a rate prices it.
  const adjustments: AccountCloseReport["adjustments"] = [];
  const suspenseCarried: { referencePeriod: PeriodId; items: readonly SuspenseItem[] }[] = [];
  const stillSuspended: PeriodId[] = [];
  const rechecked: RecheckedPeriod[] = [];
  for (const ref of toAdjust) {
    const rerated = forward.ratings.get(ref)!;
    if (rerated.suspense.length > 0) {
      stillSuspended.push(ref);
      suspenseCarried.push({ referencePeriod: ref, items: rerated.suspense });
    }
    // Lines this period's close emitted in a crashed earlier attempt are not "already emitted": they are redone.
    const emitted = (await deps.periods.linesForReference(account.accountId, ref)).filter(
      (l) => l.period !== periodId,
    );
    const adj = adjustmentLines(account, currency, periodId, ref, emitted, rerated.lines);
    lines.push(...adj);
    rechecked.push({ referencePeriod: ref, rating: rerated, emitted });
    adjustments.push({
      referencePeriod: ref,
      amount: formatMoney(
        adj.reduce((s, l) => s.plus(l.amount), ZERO),
        currency,
      ),
      lines: adj.length,
    });
  }

  const sorted = sortInvoiceLines(lines);
  const byLineType: Record<string, string> = {};
  for (const l of sorted)
    byLineType[l.line_type] = formatMoney(ZERO.plus(byLineType[l.line_type] ?? 0).plus(l.amount), currency);
  const amount = sorted.reduce((s, l) => s.plus(l.amount), ZERO);
  const unclosedEarlierPeriods: AccountCloseReport["unclosedEarlierPeriods"] = [];
  // A marker flagged closed needs no read: only earlier periods never seen closed are looked up.
  const where = shardsOf(usagePeriods);
  for (const { period: p, closed } of usagePeriods) {
    if (p >= periodId || closed || (await deps.periods.getClose(account.accountId, p))) continue;
    // Events of the period itself (local months: the page of a period holds that period's events).
    const w = periodWindow(p, account.timezone);
    const raw = (await deps.usage.statefulEventsOf(account.accountId, [p], where)).filter(
      (e) => e.t >= w.start && e.t < w.end && e.t < period.start,
    ).length;
    const count = raw + (await deps.usage.countersOf(account.accountId, p, where)).events;
    if (count > 0) unclosedEarlierPeriods.push({ period: p, events: count });
  }
  // Conflicts, rejected messages and suspense of any number: counts and samples in the report, the
  // whole lists stored in chunks under this run's claim (close-report.ts).
  const lists = await writeReportLists(deps, owner, {
    accountId: account.accountId,
    period: periodId,
    window: period,
    suspense: rating.suspense,
    suspenseCarried,
    fresh: claim.takenOver === false,
    markers: where,
  });
  if (!lists) return { outcome: await lostClaim(account.accountId, periodId, deps) };
  const lateConflicts = deps.lateConflicts
    ? (await deps.lateConflicts.unreportedLateConflicts(account.accountId))
        .filter((c) => c.referencePeriod < periodId)
        .sort((a, b) => a.seenAt - b.seenAt || compareStrings(a.referencePeriod, b.referencePeriod))
    : [];
  const closedAt = deps.clock.now();
  const report: AccountCloseReport = {
    accountId: account.accountId,
    period: periodId,
    status: "closed",
    billingChannel: account.billingChannel,
    currency,
    closedAt: new Date(closedAt).toISOString(),
    events: rating.eventCount,
    lines: sorted.length,
    totals: {
      amount: formatMoney(amount, currency),
      invoicedByProvider: formatMoney(account.billingChannel === "direct" ? amount : ZERO, currency),
      byLineType,
    },
    adjustments,
    suspense: lists.suspense,
    suspenseCarried: lists.suspenseCarried,
    unclosedEarlierPeriods,
    conflicts: lists.conflicts,
    lateConflicts: {
      count: lateConflicts.length,
      referencePeriods: [...new Set(lateConflicts.map((c) => c.referencePeriod))].sort(compareStrings),
      samples: lateConflicts.slice(0, 20).map((c) => ({
        referencePeriod: c.referencePeriod,
        source: c.source,
        id: c.id,
        seenAt: new Date(c.seenAt).toISOString(),
      })),
    },
    rejectedMessages: lists.rejectedMessages,
    compliance: rating.compliance,
  };
  // Lines, then the record, each only while this run holds the claim: a crash in between leaves the
  // claim "closing", and the next run (after the lease) redoes it with the same deterministic line ids.
  const lost = async () => ({ outcome: await lostClaim(account.accountId, periodId, deps) });
  // A fresh claim (no earlier run's record) means no earlier attempt wrote lines to replace. The
  // period's usage marker is flagged closed with the lines: later closes need not read its record.
  const fresh = claim.takenOver === false;
  const flagUsage = usagePeriods.some((p) => p.period === periodId && !p.closed);
  // Each line's explanation, keyed by its deterministic id, in the lines' own transactions: a
  // redone close writes the same items.
  const explanations = deps.explanations
    ? await explainClose(deps, { account, tariff, periodId, rating, rechecked, lines: sorted, products })
    : [];
  const written = await deps.periods.writeCloseLines(account.accountId, periodId, owner, sorted, {
    fresh,
    flagUsage,
    explanations,
  });
  if (!written) return lost();
  // The snapshot at the next period's start, under the claim, before the record: the next close
  // reads it. None for an account that never had a stateful event: the next close derives it.
  if (!noStatefulHistory(usagePeriods, periodId))
    await deps.usage.putSnapshot(account.accountId, snapshotAfter(account, forward.state, products));
  // Suspense markers before the record: a crash after it must not lose one (G10). Old markers are
  // cleared after it, only those read (and not re-marked) by this run; a new one stays (G7).
  if (rating.suspense.length > 0) stillSuspended.push(periodId);
  for (const p of stillSuspended) await deps.periods.markLate(account.accountId, p, closedAt);
  // With an exports bucket the period is listed when the account's objects are recorded.
  const listPeriod = deps.exports === undefined;
  const references = [...new Set(report.adjustments.map((a) => a.referencePeriod))];
  if (
    !(await deps.periods.finishClose(account.accountId, periodId, owner, closedAt, report, {
      listPeriod,
      references,
    }))
  )
    return lost();
  for (const l of [...late, ...reachedMarks])
    if (!stillSuspended.includes(l.period))
      await deps.periods.clearLate(account.accountId, l.period, l.markedAt);
  // Listed by this report: the next one does not list them again (a crash before this lists them twice).
  if (lateConflicts.length > 0) await deps.lateConflicts?.lateConflictsReported(lateConflicts);
  return { outcome: report, closed: { report, closedAt, lines: sorted } };
}

/** Lease passed while this run was alive and another run took over: it owns the period now. */
async function lostClaim(accountId: string, periodId: PeriodId, deps: CloseDeps) {
  const now = await deps.periods.getClose(accountId, periodId);
  if (!now) throw new Error(`close record of ${accountId} ${periodId} vanished while closing`);
  return now.status === "closed" ? alreadyClosed(now) : beingClosed(now);
}

/** G7: a closed period is immutable; closing it again changes nothing and returns its report. */
function alreadyClosed(record: CloseRecord): AccountCloseReport {
  return { ...(record.report as AccountCloseReport), status: "already-closed" };
}

function beingClosed(
  record: Pick<CloseRecord, "accountId" | "period" | "startedAt" | "owner" | "leaseUntil">,
): BeingClosed {
  return {
    accountId: record.accountId,
    period: record.period,
    status: "being-closed",
    claimedBy: record.owner ?? "(unknown run)",
    startedAt: new Date(record.startedAt).toISOString(),
    ...(record.leaseUntil !== undefined ? { leaseUntil: new Date(record.leaseUntil).toISOString() } : {}),
  };
}
