/**
 * The exact DynamoDB item access of each billing function: the rows the exact-IAM test and
 * test/infra/table-grants.test.ts pin.
 */
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as kms from "aws-cdk-lib/aws-kms";
import type { BillingFunction } from "./billing-function.js";
import type { BillingFunctionName } from "./function-set.js";
import { grantTableItems, grantWithEnv, type TableAccess } from "./grants.js";
import { USAGE_FOLD_ACCESS } from "./usage-fold.js";

/**
 * Item access per function: exact actions on the partition-key prefixes each one touches
 * (docs/data-model.md; `dynamodb:LeadingKeys`). TransactWriteItems is authorized per item as
 * PutItem/UpdateItem/DeleteItem/ConditionCheckItem; a PartiQL INSERT as PartiQLInsert.
 */
export const TABLE_ACCESS: Readonly<Record<BillingFunctionName, readonly TableAccess[]>> = {
  // Claims (PartiQL INSERT, BatchGet, take-over), journals and attempt commits (the fold writes the
  // counters, pages and markers), conflicts and their per-period index, close records (read, for a
  // late conflict), configuration (read), dead letters with their per-account index (one
  // transaction each, so a close reports them without a scan).
  ingestUsage: [
    { actions: ["dynamodb:PartiQLInsert"], leadingKeys: ["ID#*", "CONFLICTS#*", "ACCT#*"] },
    { actions: ["dynamodb:BatchGetItem"], leadingKeys: ["ID#*"] },
    // ID#: a crashed attempt's claims taken over; ACCT#: a period's usage marker flagged with a conflict.
    { actions: ["dynamodb:UpdateItem"], leadingKeys: ["ID#*", "ACCT#*"] },
    { actions: ["dynamodb:GetItem"], leadingKeys: ["COMMIT#*", "BILL#*", "CFG#*", "DEADLETTER#*"] },
    { actions: ["dynamodb:Query"], leadingKeys: ["CFG#*"] },
    // Dead letters go to their shards (DEADLETTER#); their account index to the account's key (DLA#)
    // or, in a burst, its burst keys (DLS#).
    {
      actions: ["dynamodb:PutItem"],
      leadingKeys: ["COMMIT#*", "JRNL#*", "DEADLETTER#*", "DLA#*", "DLS#*"],
    },
    { actions: ["dynamodb:DeleteItem"], leadingKeys: ["DLA#*", "DLS#*"] },
    // Late conflicts (G5).
    { actions: ["dynamodb:PutItem"], leadingKeys: ["LATECF#*"] },
  ],
  // Lists the accounts of the due zones; keeps its per-zone cursor. Rewrites the manifests of
  // the periods whose exports changed: the period list and index (Query), the manifest's count
  // (UpdateItem); an account whose objects are missing is exported first (its close record, GetItem,
  // and lines, Query, on BILL#; its entry updated).
  closeScheduler: [
    { actions: ["dynamodb:Query"], leadingKeys: ["CFG#*", "PERIOD#*", "BILL#*", "UNCLOSED#*"] },
    { actions: ["dynamodb:GetItem", "dynamodb:PutItem"], leadingKeys: ["SCHED#*"] },
    { actions: ["dynamodb:GetItem"], leadingKeys: ["BILL#*"] },
    { actions: ["dynamodb:UpdateItem"], leadingKeys: ["PERIOD#*"] },
  ],
  // Reads one account's period (counters, pages, snapshot, conflicts and letters indexes) and looks
  // the account and its tariff up by key (never the whole configuration); writes only under its
  // claim: BILL# (claim, close record, lines), ACCT# (usage marker's closed flag, late markers),
  // REPORT# list chunks (and a crashed
  // attempt's stale ones deleted), SNAP# snapshots (a rewritten one's old parts deleted).
  closeWorker: [
    // It folds its account's journal before and under its claim (usage-fold.ts).
    ...USAGE_FOLD_ACCESS,
    {
      actions: ["dynamodb:Query"],
      // DLA#: the account's dead-letter index; DLS#: its burst keys, read when a burst is marked.
      leadingKeys: [
        "ACCT#*",
        "BILL#*",
        "CTR#*",
        "EVT#*",
        "DLA#*",
        "DLS#*",
        "CONFLICTS#*",
        "REPORT#*",
        "SNAP#*",
      ],
    },
    { actions: ["dynamodb:GetItem"], leadingKeys: ["BILL#*", "CFG#*"] },
    { actions: ["dynamodb:PutItem"], leadingKeys: ["BILL#*", "REPORT#*", "SNAP#*"] },
    // ACCT#: late markers cleared once billed; BILL#: a crashed attempt's stale line chunks.
    { actions: ["dynamodb:DeleteItem"], leadingKeys: ["ACCT#*", "BILL#*", "REPORT#*", "SNAP#*"] },
    // ACCT#: the usage marker flagged closed, late markers; BILL#: the close record (claim, finish).
    { actions: ["dynamodb:UpdateItem"], leadingKeys: ["ACCT#*", "BILL#*"] },
    { actions: ["dynamodb:ConditionCheckItem"], leadingKeys: ["BILL#*"] },
    // Line explanations, in transactions with the claim check on ACCT#.
    { actions: ["dynamodb:PutItem"], leadingKeys: ["EXPL#*"] },
    // The period index: its entry put with the close record, then the exported objects noted on it.
    {
      actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
      leadingKeys: ["PERIOD#*"],
    },
    // The account's configuration versions (CFG#V#), its unreported late conflicts; the closed
    // account-period leaves the unclosed-usage index (or a request without configuration is suspended there).
    { actions: ["dynamodb:Query"], leadingKeys: ["CFG#*", "LATECF#*"] },
    { actions: ["dynamodb:DeleteItem"], leadingKeys: ["LATECF#*", "UNCLOSED#*"] },
    { actions: ["dynamodb:UpdateItem"], leadingKeys: ["UNCLOSED#*"] },
  ],
  // Reads configuration, the account's periods with usage (ACCT# USAGE# markers), the carry-over
  // snapshot at the first month in play and that month's raw pages on; writes only its own MKT#
  // records and watermarks.
  marketplaceReporter: [
    { actions: ["dynamodb:Query"], leadingKeys: ["CFG#*", "ACCT#*", "EVT#*", "SNAP#*", "MKT#*"] },
    { actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], leadingKeys: ["MKT#*"] },
    // It folds each account's journal before reading its pages.
    ...USAGE_FOLD_ACCESS,
  ],
  // Lists and removes dead letters (with their per-account index entry, one transaction), over
  // every shard; letters from before sharding (DEADLETTER, DLA#) are moved to their shards.
  deadLetter: [
    { actions: ["dynamodb:Query", "dynamodb:GetItem"], leadingKeys: ["DEADLETTER", "DEADLETTER#*"] },
    { actions: ["dynamodb:PutItem"], leadingKeys: ["DEADLETTER#*"] },
    { actions: ["dynamodb:DeleteItem"], leadingKeys: ["DEADLETTER", "DEADLETTER#*", "DLA#*", "DLS#*"] },
  ],
  // Read only: configuration; the period index (PERIOD#, walked page by page); close records
  // and lines (BILL#); the preview's usage periods (ACCT#), counters, raw pages and carry-over snapshots.
  financeApi: [
    {
      actions: ["dynamodb:Query"],
      leadingKeys: ["CFG#*", "PERIOD#*", "ACCT#*", "BILL#*", "CTR#*", "EVT#*", "SNAP#*"],
    },
    // GetItem on EXPL#: a line's explanation by its id; on PERIOD#: ?accountId= of an account
    // closed for the period but no longer configured (contract §2).
    { actions: ["dynamodb:GetItem"], leadingKeys: ["BILL#*", "EXPL#*", "PERIOD#*"] },
  ],
};

/**
 * The function's rows of TABLE_ACCESS (exact item actions per key prefix, KMS only through
 * DynamoDB) and the BILLING_TABLE variable that names the table.
 */
export function grantTableAccess(
  fn: BillingFunction,
  name: BillingFunctionName,
  { table, key }: { table: dynamodb.ITable; key: kms.IKey },
): void {
  grantWithEnv(fn.function, "BILLING_TABLE", table.tableName, (g) =>
    grantTableItems(g, table, key, TABLE_ACCESS[name]),
  );
}
