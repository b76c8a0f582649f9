/** The committed JSON Schemas in docs/schemas are those generated from the zod contract. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderSchemas, schemaDir } from "../../scripts/generate-schemas.js";

describe("docs/schemas", () => {
  const schemas = renderSchemas();
  it("covers the envelope, every event type, accounts, tariffs and invoice lines", () => {
    expect(Object.keys(schemas)).toContain("usage-event.schema.json");
    expect(Object.keys(schemas)).toContain("data/voice.call.schema.json");
    expect(Object.keys(schemas).length).toBeGreaterThanOrEqual(41);
  });
  it.each(Object.keys(schemas))("%s is current (run `npm run schemas`)", async (name) => {
    const committed = await readFile(join(schemaDir, name), "utf8").catch(() => "(missing)");
    expect(committed).toBe(schemas[name]);
  });
});
