/**
 * The billing functions by name, their handler files, and what every builder of the stack's jobs
 * (usage-ingest.ts, period-close.ts, marketplace-reporting.ts) is handed to make its functions.
 */
import { fileURLToPath } from "node:url";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type { BillingFunctionProps } from "./billing-function.js";

export type BillingFunctionName =
  | "ingestUsage"
  | "closeScheduler"
  | "closeWorker"
  | "marketplaceReporter"
  | "deadLetter"
  | "financeApi";

const functionsDir = (name: string) =>
  fileURLToPath(new URL(`../../functions/${name}/handler.ts`, import.meta.url));

/** The real handler files; tests may replace them with a fixture. */
export const DEFAULT_ENTRIES: Readonly<Record<BillingFunctionName, string>> = {
  ingestUsage: functionsDir("ingest-usage"),
  closeScheduler: functionsDir("close-scheduler"),
  closeWorker: functionsDir("close-worker"),
  marketplaceReporter: functionsDir("marketplace-reporter"),
  deadLetter: functionsDir("dead-letter"),
  financeApi: functionsDir("finance-api"),
};

/** Settings every function of the stack shares: encryption, logs, removal, common variables. */
export type CommonFunctionProps = Omit<BillingFunctionProps, "entry" | "description">;

/** The stack's shared parts a job's functions are made and granted with. */
export interface BillingParts {
  readonly key: kms.IKey;
  readonly table: dynamodb.ITable;
  readonly exportsBucket: s3.Bucket;
  readonly common: CommonFunctionProps;
  readonly entries: Readonly<Record<BillingFunctionName, string>>;
}
