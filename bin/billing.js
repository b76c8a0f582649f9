#!/usr/bin/env node
// The `billing` command: runs the TypeScript CLI through tsx's loader (no build step to forget).
import { register } from "tsx/esm/api";

// The local tools run on Node 20 by design (Lambda runs nodejs22.x); the lockfile pins an SDK that
// supports it, so the SDK's notice about its future Node 22 requirement is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
register();
await import("../cli/billing.ts");
