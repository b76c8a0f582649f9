/**
 * The import graph of our TypeScript, read with the TypeScript parser (no module is loaded): every
 * `import` and `export … from` (`import type` included), `import x = require("…")`, `import("…")`
 * and `typeof import("…")`. Used by test/unit/layering.test.ts to refuse import circles and imports
 * against the direction of the layers (shared/README.md).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import ts from "typescript";

/** The module specifiers a source file names, in source order. */
export function specifiersOf(fileName: string, source: string): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const literal = (n: ts.Node | undefined) => {
    if (n && ts.isStringLiteralLike(n)) found.push(n.text);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) literal(n.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference))
      literal(n.moduleReference.expression);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword)
      literal(n.arguments[0]);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) literal(n.argument.literal);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

/** One file's imports: our files (repository-relative paths) and packages (`zod`, `@aws-sdk/client-s3`). */
export interface FileImports {
  readonly files: string[];
  readonly packages: string[];
  /** Relative specifiers that name no file (a typo, or a file moved). */
  readonly unresolved: string[];
}

/** The package a bare specifier names: `@scope/name` or `name` (`node:` builtins as written). */
export const packageOf = (specifier: string): string =>
  specifier.startsWith("node:")
    ? specifier
    : specifier
        .split("/")
        .slice(0, specifier.startsWith("@") ? 2 : 1)
        .join("/");

function resolveRelative(
  from: string,
  specifier: string,
  exists: (p: string) => boolean,
): string | undefined {
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  const stem = base.replace(/\.(js|mjs|cjs)$/, "");
  const candidates = [base, `${stem}.ts`, `${stem}.mts`, `${stem}.cts`, `${stem}/index.ts`];
  return candidates.find((c) => c.endsWith("ts") && exists(c)) ?? candidates.find(exists);
}

/** Every .ts file under the given folders of `root` (repository-relative, `/`-separated). */
export function sourceFiles(root: string, folders: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const rel = posix.join(dir, name);
      if (name === "node_modules" || name.startsWith(".")) continue;
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (/\.(m|c)?ts$/.test(name) && !name.endsWith(".d.ts")) out.push(rel);
    }
  };
  for (const f of folders) if (existsSync(join(root, f))) walk(f);
  return out;
}

/** The import graph of `files` (repository-relative) under `root`. */
export function importGraph(root: string, files: readonly string[]): Map<string, FileImports> {
  const exists = (p: string) => existsSync(join(root, p)) && statSync(join(root, p)).isFile();
  const graph = new Map<string, FileImports>();
  for (const file of files) {
    const imports: FileImports = { files: [], packages: [], unresolved: [] };
    for (const s of specifiersOf(file, readFileSync(join(root, file), "utf8"))) {
      if (s.startsWith(".")) {
        const target = resolveRelative(file, s, exists);
        if (target === undefined) imports.unresolved.push(s);
        else imports.files.push(target);
      } else imports.packages.push(packageOf(s));
    }
    graph.set(file, imports);
  }
  return graph;
}

/**
 * The import circles: each strongly connected set of files (Tarjan) of more than one file, or one
 * file importing itself, as a path that closes on its first file (`a → b → a`).
 */
export function circlesOf(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const sets: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const set: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        set.push(w);
      } while (w !== v);
      if (set.length > 1 || (edges.get(v) ?? []).includes(v)) sets.push(set);
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) connect(v);
  return sets.map((set) => pathThrough(edges, new Set(set)));
}

/** One circle through the files of a strongly connected set, from its first file in sort order. */
function pathThrough(edges: ReadonlyMap<string, readonly string[]>, set: ReadonlySet<string>): string[] {
  const start = [...set].sort()[0] as string;
  // Breadth-first from start back to start, inside the set: the shortest circle through it.
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const w of edges.get(v) ?? []) {
      if (!set.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x = v; x !== start; x = cameFrom.get(x) as string) path.splice(1, 0, x);
        return [...path, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** A layer: the folder it is, the layers it may import, and the packages it may import. */
export interface Layer {
  readonly name: string;
  /** Folders (repository-relative) whose files belong to it; the longest matching folder wins. */
  readonly folders: readonly string[];
  readonly mayImport: readonly string[];
  /** Packages it may import (`node:` builtins always), or those it may not (`except`). */
  readonly packages: { readonly only: readonly string[] } | { readonly except: readonly string[] };
  /** Whether a file may import a file of another top folder of the same layer (one function of another). */
  readonly acrossFolders?: boolean;
}

/** The folder of `file` that places it in a layer, and that layer (undefined: in none). */
export function layerOf(
  file: string,
  layers: readonly Layer[],
): { layer: Layer; folder: string; unit: string } | undefined {
  let best: { layer: Layer; folder: string; unit: string } | undefined;
  for (const layer of layers)
    for (const folder of layer.folders)
      if ((file === folder || file.startsWith(`${folder}/`)) && folder.length > (best?.folder.length ?? -1)) {
        // The unit: the folder's first level below it (functions/<name>), or the file itself.
        const rest = file.slice(folder.length + 1);
        const unit = rest.includes("/") ? `${folder}/${rest.split("/")[0]}` : folder;
        best = { layer, folder, unit };
      }
  return best;
}

const packageAllowed = (pkg: string, rule: Layer["packages"]): boolean => {
  if (pkg.startsWith("node:")) return true;
  const matches = (list: readonly string[]) =>
    list.some((p) => (p.endsWith("/*") ? pkg.startsWith(p.slice(0, -1)) : pkg === p));
  return "only" in rule ? matches(rule.only) : !matches(rule.except);
};

/** Every import against the layers, as `file → target: why`. */
export function layerViolations(graph: ReadonlyMap<string, FileImports>, layers: readonly Layer[]): string[] {
  const out: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file, layers);
    if (!from) {
      out.push(`${file}: in no layer (place its folder in the layers of shared/README.md)`);
      continue;
    }
    for (const u of imports.unresolved) out.push(`${file} → ${u}: names no file`);
    for (const target of imports.files) {
      const to = layerOf(target, layers);
      if (!to) out.push(`${file} → ${target}: ${from.layer.name} may not import outside the layers`);
      else if (to.layer !== from.layer && !from.layer.mayImport.includes(to.layer.name))
        out.push(`${file} → ${target}: ${from.layer.name} may not import ${to.layer.name}`);
      else if (to.layer === from.layer && from.layer.acrossFolders === false && to.unit !== from.unit)
        out.push(`${file} → ${target}: one ${from.layer.name} unit may not import another`);
    }
    for (const pkg of imports.packages)
      if (!packageAllowed(pkg, from.layer.packages))
        out.push(`${file} → ${pkg}: ${from.layer.name} may not import this package`);
  }
  return out;
}
