/** `billing explain LINE_ID [--json]` (issue 10 item 3): a line's explanation, read by its id. */
import { explainLine, formatExplanation, LINE_ID } from "../shared/app/explain-lines.js";
import type { ExplanationStore } from "../shared/ports/explanations.js";
import { EXIT, oneArgument, UsageError } from "./usage.js";

export function parseExplain(args: string[]): { kind: "explain"; lineId: string; json: boolean } {
  const { argument: lineId, flagged: json } = oneArgument(
    args,
    "json",
    "explain takes one line id: explain LINE_ID",
  );
  if (!LINE_ID.test(lineId))
    throw new UsageError(`a line id is "L-" and 20 hex digits, not "${lineId.slice(0, 100)}"`);
  return { kind: "explain", lineId, json };
}

export async function runExplain(
  store: Pick<ExplanationStore, "explanation">,
  cmd: { lineId: string; json: boolean },
): Promise<number> {
  const x = await explainLine(store, cmd.lineId);
  if (!x) {
    console.error(`billing: no invoice line ${cmd.lineId} (lines explain themselves from their close on)`);
    return EXIT.failure;
  }
  process.stdout.write(cmd.json ? `${JSON.stringify(x, null, 2)}\n` : formatExplanation(x));
  return EXIT.ok;
}
