/**
 * package.json's `engines` is a promise to whoever runs `npm ci`: every package the lockfile installs
 * must accept the oldest Node it names, or npm warns (EBADENGINE) and the package may break there.
 * Read from the lockfile, which records each package's own `engines`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const read = (f: string) => JSON.parse(readFileSync(join(root, f), "utf8"));

type Version = readonly [number, number, number];
const version = (v: string): Version => {
  const [a = 0, b = 0, c = 0] = v
    .replace(/^v/, "")
    .split(".")
    .map((p) => (p === "x" || p === "*" ? 0 : Number.parseInt(p, 10)));
  return [a, b, c];
};
const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether `v` satisfies one comparator (">=20.19", "^22.13.0", "20", "18.x", "*"). */
function satisfiesComparator(v: Version, comparator: string): boolean {
  const m = /^(>=|<=|>|<|\^|~|=)?\s*v?([\d.x*]+)$/.exec(comparator);
  if (!m) throw new Error(`unreadable engines comparator "${comparator}"`);
  const [, op = "", bound = ""] = m;
  if (bound === "*") return true;
  const b = version(bound);
  const parts = bound.split(".").filter((p) => p !== "x" && p !== "*").length;
  const c = compare(v, b);
  switch (op) {
    case ">=":
      return c >= 0;
    case ">":
      return c > 0;
    case "<=":
      return c <= 0;
    case "<":
      return c < 0;
    case "^":
      return c >= 0 && v[0] === b[0] && (b[0] !== 0 || v[1] === b[1]);
    case "~":
      return c >= 0 && v[0] === b[0] && (parts < 2 || v[1] === b[1]);
    default:
      // "20", "18.x", "20.19": a partial version matches everything below it.
      return b.slice(0, parts).every((n, i) => v[i] === n);
  }
}

/** npm's range grammar, as far as engines fields use it: alternatives by "||", comparators by spaces. */
function satisfies(v: string, range: string): boolean {
  const ver = version(v);
  return range.split("||").some((alternative) => {
    const comparators = alternative
      .trim()
      .replace(/(>=|<=|>|<|\^|~|=)\s+/g, "$1")
      .split(/\s+/)
      .filter(Boolean);
    return comparators.length === 0 || comparators.every((c) => satisfiesComparator(ver, c));
  });
}

describe("engines", () => {
  it("reads npm's engines ranges as npm does", () => {
    expect(satisfies("20.19.0", ">=22")).toBe(false);
    expect(satisfies("20.19.0", "^20.19.0 || >=22.12.0")).toBe(true);
    expect(satisfies("20.18.3", "^20.19.0 || >=22.12.0")).toBe(false);
    expect(satisfies("20.19.0", "18 || 20 || >=22")).toBe(true);
    expect(satisfies("20.19.0", ">= 18.0.0")).toBe(true);
    expect(satisfies("20.19.0", "^4.7 || >=6.9")).toBe(true);
    expect(satisfies("20.19.0", "*")).toBe(true);
  });

  it("every installed package accepts the oldest Node package.json promises", () => {
    const pkg = read("package.json") as { engines: { node: string } };
    const oldest = /^>=\s*([\d.]+)$/.exec(pkg.engines.node)?.[1];
    expect(oldest, "engines.node is a lower bound").toBeDefined();
    const lock = read("package-lock.json") as {
      packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }>;
    };
    const refusing = Object.entries(lock.packages)
      .filter(([path]) => path !== "")
      .flatMap(([path, p]) => {
        const node = Array.isArray(p.engines) ? undefined : p.engines?.node;
        return node && !satisfies(oldest as string, node) ? [`${path} needs node ${node}`] : [];
      });
    expect(refusing).toEqual([]);
  });
});
