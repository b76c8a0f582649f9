/**
 * Conflicts (rating-rules G5) whose first copy belongs to a period already closed (or being
 * closed) when the conflicting re-delivery arrived: the period's own close report cannot list them,
 * so the account's next close report does (count, samples, reference periods), and an operator
 * lists them all (`billing conflicts list`).
 */
import type { PeriodId } from "../core/time.js";

export interface LateConflict {
  readonly accountId: string;
  /** The period of the first copy (whose close report could not list it). */
  readonly referencePeriod: PeriodId;
  readonly source: string;
  readonly id: string;
  /** SHA-256 of the conflicting content (several conflicting versions are several entries). */
  readonly hash: string;
  readonly seenAt: number;
}

export interface LateConflictStore {
  /** Records it for the account's next close and for the operators' listing (idempotent). */
  recordLateConflict(conflict: LateConflict): Promise<void>;
  /** The account's late conflicts no close report has listed yet. */
  unreportedLateConflicts(accountId: string): Promise<LateConflict[]>;
  /** A close report listed these: the next one does not list them again. */
  lateConflictsReported(conflicts: readonly LateConflict[]): Promise<void>;
  /** Every late conflict ever recorded, newest first (the operators' listing). */
  listLateConflicts(): Promise<LateConflict[]>;
}
