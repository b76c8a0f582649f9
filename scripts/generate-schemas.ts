/**
 * Generates the JSON Schemas of the external contract (contract.md) from the zod schemas into
 * docs/schemas/. `tsx scripts/generate-schemas.ts` writes them; test/unit/schemas.test.ts checks
 * that the committed files are current.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { accountsFileSchema } from "../shared/contract/accounts.js";
import { invoiceLineSchema } from "../shared/contract/invoice-line.js";
import { tariffsFileSchema } from "../shared/contract/tariffs.js";
import { eventDataSchemas, usageEventSchema } from "../shared/core/products/index.js";

export const schemaDir = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "schemas");

const toSchema = (schema: z.ZodType, title: string, io: "input" | "output" = "output") => ({
  ...z.toJSONSchema(schema, { io, unrepresentable: "any" }),
  title,
});

/** File name → JSON Schema text. */
export function renderSchemas(): Record<string, string> {
  const out: Record<string, unknown> = {
    "usage-event.schema.json": toSchema(
      usageEventSchema,
      "Usage message (CloudEvents 1.0, contract §1)",
      "input",
    ),
    "accounts.schema.json": toSchema(accountsFileSchema, "Accounts file (contract §2)", "input"),
    "tariffs.schema.json": toSchema(tariffsFileSchema, "Tariffs file (contract §3)", "input"),
    "invoice-line.schema.json": toSchema(invoiceLineSchema, "Invoice line (contract §4)"),
  };
  for (const [type, schema] of Object.entries(eventDataSchemas))
    out[`data/${type}.schema.json`] = toSchema(schema, `data of ${type} (contract §1)`, "input");
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, `${JSON.stringify(v, null, 2)}\n`]));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [name, text] of Object.entries(renderSchemas())) {
    const path = join(schemaDir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
  console.log(`wrote ${Object.keys(renderSchemas()).length} schemas to ${schemaDir}`);
}
