/**
 * Explanations of invoice lines (issue 10 item 3): written at close in the
 * lines' transactions (PeriodStore.writeCloseLines), read one at a time by line id (contract §4:
 * line ids are deterministic).
 */
import type { LineExplanation } from "../core/rating/explain/explain.js";

export interface ExplanationStore {
  /** The explanation of one line: one key read (no query, no scan); undefined for an unknown id. */
  explanation(lineId: string): Promise<LineExplanation | undefined>;
}
