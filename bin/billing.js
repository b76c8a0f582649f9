#!/usr/bin/env node
// The `billing` command: runs the TypeScript CLI through tsx's loader (no build step to forget).
import { register } from "tsx/esm/api";

register();
await import("../cli/billing.ts");
