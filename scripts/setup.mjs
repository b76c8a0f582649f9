#!/usr/bin/env node
// Idempotent set-up before tests and the simulation: dependencies installed, a Java runtime for
// DynamoDB Local and Debian's Chromium (the finance page is checked in a real browser). Silent when
// everything is already there.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function run(cmd, args) {
  console.log(`setup: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.status !== 0) {
    console.error(
      `setup: \`${cmd} ${args.join(" ")}\` failed (${r.error?.message ?? `exit code ${r.status}`})`,
    );
    process.exit(1);
  }
}

const succeeds = (cmd, args) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;

if (!existsSync(join(root, "node_modules"))) {
  run("npm", existsSync(join(root, "package-lock.json")) ? ["ci"] : ["install"]);
}
// node_modules installed before the fauxqs patch existed (or with --ignore-scripts): patch it now.
if (spawnSync("node", [join(root, "scripts", "patch-fauxqs.mjs")], { stdio: "inherit" }).status !== 0)
  process.exit(1);

if (!succeeds("java", ["-version"])) {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) {
    console.error(
      "setup: Java is missing (DynamoDB Local needs it) and this is not root, so it cannot be installed here.\n" +
        "Install it yourself, e.g. `sudo apt-get install -y default-jre-headless`, then run `npm run setup` again.",
    );
    process.exit(1);
  }
  if (!succeeds("apt-get", ["--version"])) {
    console.error(
      "setup: Java is missing (DynamoDB Local needs it) and apt-get is not available: install a Java runtime (17 or later) by hand.",
    );
    process.exit(1);
  }
  console.log(
    "setup: Java is missing (DynamoDB Local needs it); installing default-jre-headless with apt-get",
  );
  run("apt-get", ["update"]);
  run("apt-get", ["install", "-y", "default-jre-headless"]);
  if (!succeeds("java", ["-version"])) {
    console.error("setup: default-jre-headless was installed but `java -version` still fails; check PATH.");
    process.exit(1);
  }
}

// The finance page test (test/integration/finance-report-page.test.ts) drives /usr/bin/chromium
// through playwright-core: Debian's own package, no browser download.
const CHROMIUM = "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !succeeds("apt-get", ["--version"])) {
    console.error(
      `setup: Chromium is missing (${CHROMIUM}; the finance page test needs it) and cannot be installed here ` +
        "(not root, or no apt-get). Install it yourself, e.g. `sudo apt-get install -y chromium`, then run `npm run setup` again.",
    );
    process.exit(1);
  }
  console.log(
    "setup: Chromium is missing (the finance page test needs it); installing chromium with apt-get",
  );
  run("apt-get", ["update"]);
  run("apt-get", ["install", "-y", "--no-install-recommends", "chromium"]);
  if (!existsSync(CHROMIUM)) {
    console.error(`setup: chromium was installed but ${CHROMIUM} is not there.`);
    process.exit(1);
  }
}
