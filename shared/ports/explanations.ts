/**
 * Explanations of invoice lines (issue 10 item 3, docs/decisions.md D26): written at close with the
 * lines, read one at a time by line id (contract §4: line ids are deterministic).
 */
import type { LineExplanation } from "../core/rating/explain/explain.js";
import type { PeriodId } from "../core/time.js";

export interface ExplanationStore {
  /**
   * Writes the explanations of the lines a close emits, each write only while `owner` still holds
   * the account-period's "closing" claim (as writeCloseLines). Idempotent: a line id always gets
   * the same item. False, having written nothing more, once the claim is lost.
   */
  writeExplanations(
    accountId: string,
    period: PeriodId,
    owner: string,
    explanations: readonly LineExplanation[],
  ): Promise<boolean>;
  /** The explanation of one line: one key read (no query, no scan); undefined for an unknown id. */
  explanation(lineId: string): Promise<LineExplanation | undefined>;
}
