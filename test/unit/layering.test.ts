/**
 * The layers go one way (shared/README.md): contract ← core ← ports ← app ← functions, with the
 * adapters and the runtime beside the app (they implement the ports and build the clients; the app
 * never imports them, they never import the app), and no import circle anywhere in our code. Read
 * from the sources with the TypeScript parser (test/support/import-graph.ts): static imports and
 * `export … from` (`import type` included) and dynamic `import()`.
 */
import { describe, expect, it } from "vitest";
import {
  circlesOf,
  type FileImports,
  importGraph,
  type Layer,
  layerOf,
  layerViolations,
  sourceFiles,
  specifiersOf,
} from "../support/import-graph.js";

/** Packages of the CDK app (infra/) only. */
const CDK = ["aws-cdk-lib", "constructs", "cdk-nag"];

/** Who may import whom (by layer name) and which packages; `node:` builtins are open to all. */
const LAYERS: readonly Layer[] = [
  { name: "contract", folders: ["shared/contract"], mayImport: [], packages: { only: ["zod"] } },
  {
    name: "core",
    folders: ["shared/core"],
    mayImport: ["contract"],
    packages: { only: ["zod", "decimal.js"] },
  },
  { name: "ports", folders: ["shared/ports"], mayImport: ["contract", "core"], packages: { only: [] } },
  {
    name: "app",
    folders: ["shared/app"],
    mayImport: ["contract", "core", "ports"],
    packages: { only: ["zod", "decimal.js"] },
  },
  {
    name: "adapters",
    folders: ["shared/adapters"],
    mayImport: ["contract", "core", "ports"],
    packages: { only: ["@aws-sdk/*", "@smithy/*", "zod", "decimal.js"] },
  },
  {
    name: "runtime",
    folders: ["shared/runtime"],
    mayImport: ["contract", "core", "ports", "adapters"],
    packages: { except: CDK },
  },
  {
    name: "functions",
    folders: ["functions"],
    mayImport: ["contract", "core", "ports", "app", "adapters", "runtime"],
    packages: { except: CDK },
    acrossFolders: false,
  },
  {
    name: "infra",
    folders: ["infra"],
    mayImport: ["contract", "core", "runtime"],
    packages: { only: CDK },
  },
];

const ROOT = process.cwd();
/** Circles are refused in all our TypeScript, the command line, local stack and benchmarks included. */
const graph = importGraph(
  ROOT,
  sourceFiles(ROOT, ["shared", "functions", "infra", "cli", "local", "bench", "scripts"]),
);
/** The layers are those of shared/, functions/ and infra/. */
const layered = new Map([...graph].filter(([f]) => /^(shared|functions|infra)\//.test(f)));

const edgesOf = (graph: ReadonlyMap<string, FileImports>) =>
  new Map([...graph].map(([f, i]) => [f, i.files] as const));

describe("the import checker itself", () => {
  const g = (edges: Record<string, { files?: string[]; packages?: string[] }>) =>
    new Map(
      Object.entries(edges).map(([f, i]) => [
        f,
        { files: i.files ?? [], packages: i.packages ?? [], unresolved: [] },
      ]),
    );

  it("reads every form of import, type-only and dynamic ones included", () => {
    const source = [
      'import { a } from "./a.js";',
      'import type { B } from "../b.js";',
      'import "./side-effect.js";',
      'export { c } from "./c.js";',
      'export * from "./d.js";',
      'export type { E } from "./e.js";',
      'import f = require("./f.js");',
      'const g = await import("./g.js");',
      'type H = typeof import("./h.js");',
      "// import { no } from './comment.js';",
      "const s = \"import { no } from './string.js'\";",
    ].join("\n");
    expect(specifiersOf("x.ts", source)).toEqual([
      "./a.js",
      "../b.js",
      "./side-effect.js",
      "./c.js",
      "./d.js",
      "./e.js",
      "./f.js",
      "./g.js",
      "./h.js",
    ]);
  });

  it("finds a circle, however long, and names its path", () => {
    const circles = circlesOf(
      edgesOf(
        g({
          "shared/app/a.ts": { files: ["shared/app/b.ts"] },
          "shared/app/b.ts": { files: ["shared/app/c.ts", "shared/core/x.ts"] },
          "shared/app/c.ts": { files: ["shared/app/a.ts"] },
          "shared/core/x.ts": { files: ["shared/core/x.ts"] },
        }),
      ),
    );
    expect(circles).toEqual([
      ["shared/core/x.ts", "shared/core/x.ts"],
      ["shared/app/a.ts", "shared/app/b.ts", "shared/app/c.ts", "shared/app/a.ts"],
    ]);
  });

  it("finds an upward import, a forbidden package, one function importing another", () => {
    const v = layerViolations(
      g({
        "shared/contract/a.ts": { files: ["shared/core/errors.ts"] },
        "shared/core/errors.ts": { packages: ["@aws-sdk/client-s3", "node:crypto"] },
        "shared/app/u.ts": { files: ["shared/adapters/s3/x.ts"], packages: ["aws-lambda"] },
        "shared/adapters/s3/x.ts": { files: ["shared/app/u.ts", "shared/ports/p.ts"] },
        "functions/a/handler.ts": { files: ["functions/b/handler.ts", "shared/app/u.ts"] },
        "functions/b/handler.ts": { files: ["functions/b/helper.ts"] },
        "functions/b/helper.ts": {},
        "shared/ports/p.ts": {},
        "lib/stray.ts": {},
      }),
      LAYERS,
    );
    expect(v).toEqual([
      "shared/contract/a.ts → shared/core/errors.ts: contract may not import core",
      "shared/core/errors.ts → @aws-sdk/client-s3: core may not import this package",
      "shared/app/u.ts → shared/adapters/s3/x.ts: app may not import adapters",
      "shared/app/u.ts → aws-lambda: app may not import this package",
      "shared/adapters/s3/x.ts → shared/app/u.ts: adapters may not import app",
      "functions/a/handler.ts → functions/b/handler.ts: one functions unit may not import another",
      "lib/stray.ts: in no layer (place its folder in the layers of shared/README.md)",
    ]);
  });
});

describe("our code", () => {
  it("every layer's folder holds files (a renamed folder does not empty the check)", () => {
    for (const layer of LAYERS)
      expect(
        [...layered.keys()].filter((f) => layerOf(f, LAYERS)?.layer === layer).length,
        `no file in ${layer.folders.join(", ")}`,
      ).toBeGreaterThan(0);
  });

  it("has no import circle (shared, functions, infra, cli, local, bench, scripts)", () => {
    const circles = circlesOf(edgesOf(graph)).map((c) => c.join(" → "));
    expect(circles).toEqual([]);
    expect([...graph.values()].flatMap((i) => i.unresolved)).toEqual([]);
  });

  it("imports only down the layers, and only the packages each layer may use", () => {
    expect(layerViolations(layered, LAYERS)).toEqual([]);
  });
});
