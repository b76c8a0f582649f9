#!/usr/bin/env node
// Run after `npm ci` / `npm install` (package.json "postinstall").
//
// fauxqs (the SQS server the local stack and the tests embed) checks message bodies with
//   /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/
// a regular expression without the `u` flag: every character above U+FFFF (emoji, rarer CJK) is two
// UTF-16 surrogate code units, each outside the class, so the server answers InvalidMessageContents
// where SQS takes the body. SQS's documented set is
//   #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF
// This patch makes the expression that set, code point by code point (the `u` flag): characters
// above U+FFFF pass, and everything SQS refuses (controls, U+FFFE/U+FFFF, lone surrogates) is still
// refused. It edits only that one line of fauxqs's dist/sqs/sqsTypes.js, is idempotent, does nothing
// once fauxqs ships the fix, and fails loudly if the file is neither the known text nor fixed (a new
// fauxqs version: look again). Upstream note: docs/decisions.md, "Sizes in
// UTF-8 bytes".
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = process.argv[2] ?? join(root, "node_modules", "fauxqs", "dist", "sqs", "sqsTypes.js");

const BROKEN = "export const INVALID_MESSAGE_BODY_CHAR = /[^\\x09\\x0A\\x0D\\x20-\\uD7FF\\uE000-\\uFFFD]/;";
const FIXED =
  "export const INVALID_MESSAGE_BODY_CHAR = /[^\\x09\\x0A\\x0D\\x20-\\uD7FF\\uE000-\\uFFFD\\u{10000}-\\u{10FFFF}]/u;";

if (!existsSync(file)) {
  // A production install without dev dependencies: nothing to patch.
  process.exit(0);
}
const text = readFileSync(file, "utf8");
if (text.includes(FIXED) || /INVALID_MESSAGE_BODY_CHAR = \/.*\\u\{10000\}-\\u\{10FFFF\}\]\/u/.test(text)) {
  process.exit(0);
}
if (!text.includes(BROKEN)) {
  console.error(
    `patch-fauxqs: ${file} does not hold the expected body check; fauxqs changed: check whether it accepts characters above U+FFFF and update scripts/patch-fauxqs.mjs`,
  );
  process.exit(1);
}
writeFileSync(file, text.replace(BROKEN, FIXED));
console.log("patch-fauxqs: SQS body check now accepts #x10000 to #x10FFFF, as SQS does");
