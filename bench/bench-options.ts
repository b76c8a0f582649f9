/**
 * A bench's command line: a table of numeric options (`--name value`) with their defaults, parsed
 * by one function into numbers; a value that is not a number stops the bench before it starts.
 * The benches run the SDK on Node versions it warns about, so its warning is silenced here too.
 */
import { parseArgs } from "node:util";

export function benchOptions<const K extends string>(
  defaults: Readonly<Record<K, number>>,
): Record<K, number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const names = Object.keys(defaults) as K[];
  const { values } = parseArgs({
    options: Object.fromEntries(names.map((k) => [k, { type: "string" as const }])),
  });
  const out = {} as Record<K, number>;
  for (const k of names) {
    const given = values[k];
    const n = typeof given === "string" ? Number(given) : defaults[k];
    if (!Number.isFinite(n)) throw new RangeError(`--${k} takes a number, not ${String(given)}`);
    out[k] = n;
  }
  return out;
}
