#!/usr/bin/env node
// Idempotent set-up before tests and the simulation: dependencies installed and a Java runtime for
// DynamoDB Local. Silent when everything is already there.
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
