/** One way to do each small thing (issue 13): composite keys, string order, named errors. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/usage.js";
import { DrainStalledError } from "../../local/event-source-poller.js";
import { UnknownDeadLetterError } from "../../shared/app/dead-letters.js";
import { UnknownAccountError as PreviewUnknownAccountError } from "../../shared/app/preview-period.js";
import { InvalidUsageMessageError } from "../../shared/contract/usage-event.js";
import { compareStrings } from "../../shared/core/compare.js";
import { ConfigFileError, UnknownAccountError } from "../../shared/core/config.js";
import { BillingError } from "../../shared/core/errors.js";
import { compositeKey, keyParts } from "../../shared/core/keys.js";
import { parseUsageMessage } from "../../shared/core/products/index.js";
import { MeteringCallError } from "../../shared/ports/marketplace.js";
import { NoConfigurationError } from "../../shared/ports/storage.js";
import { ConfigurationError } from "../../shared/runtime/environment.js";

describe("compositeKey", () => {
  it("keeps apart values a separator join would merge", () => {
    for (const sep of ["|", "\u0000", ",", '"', "\\"]) {
      expect(compositeKey(`a${sep}b`, "c")).not.toBe(compositeKey("a", `b${sep}c`));
      expect(compositeKey(`a${sep}`, "")).not.toBe(compositeKey("a", sep));
    }
    expect(compositeKey("1", 1)).not.toBe(compositeKey(1, "1"));
  });

  it("gives equal keys for equal values and reads the values back", () => {
    expect(compositeKey("EUR", "acc|1")).toBe(compositeKey("EUR", "acc|1"));
    expect(keyParts(compositeKey("EUR", 'a"\u0000|b'))).toEqual(["EUR", 'a"\u0000|b']);
    expect(keyParts<[string, number]>(compositeKey("r", 7))).toEqual(["r", 7]);
  });
});

describe("compareStrings", () => {
  it("is 0 for equal strings and antisymmetric otherwise, in code-unit order", () => {
    const values = ["", "a", "B", "b", "ab", "a|", "é", "\u0000", "z"];
    for (const a of values)
      for (const b of values) {
        const c = compareStrings(a, b);
        if (a === b) expect(c).toBe(0);
        else expect(Math.sign(c)).toBe(-Math.sign(compareStrings(b, a)));
        expect(c < 0).toBe(a < b);
      }
    expect([...values].sort(compareStrings)).toEqual([...values].sort());
  });
});

describe("BillingError", () => {
  it("is the base of the named errors, which keep their names and messages", () => {
    const errors: Error[] = [
      new UsageError("u"),
      new ConfigurationError("c"),
      new ConfigFileError("f.json", "entry", "field", "bad"),
      new UnknownAccountError("x"),
      new UnknownDeadLetterError(["d1"]),
      new NoConfigurationError(),
      new MeteringCallError("m", 500),
      new InvalidUsageMessageError("r"),
      new DrainStalledError(3, { processed: 0, failed: 0 } as never, {}),
    ];
    for (const e of errors) {
      expect(e).toBeInstanceOf(BillingError);
      expect(e.name).toBe(e.constructor.name);
    }
    expect(errors[2]!.message).toBe("f.json: entry, field field: bad");
    expect(PreviewUnknownAccountError).toBe(UnknownAccountError);
  });

  it("keeps the error it wraps as its cause", () => {
    let thrown: unknown;
    try {
      parseUsageMessage("{not json");
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InvalidUsageMessageError);
    expect((thrown as Error).cause).toBeInstanceOf(SyntaxError);
  });

  it("is what every error class of shared/, cli/ and local/ extends (directly or through another)", () => {
    const root = join(import.meta.dirname, "../..");
    const sources = ["shared", "cli", "local"].flatMap((dir) =>
      readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts"))
        .map((f) => join(dir, f)),
    );
    const direct = sources.flatMap((f) =>
      [...readFileSync(join(root, f), "utf8").matchAll(/class (\w+) extends Error\b/g)].map(
        (m) => `${f}: ${m[1]}`,
      ),
    );
    expect(direct).toEqual(["shared/contract/errors.ts: BillingError"]);
  });
});
