/**
 * Least-privilege grants with exact actions, the way AWS Solutions Constructs' sqs-helper and
 * Powertools' bindTable pair a resource with its grant: one helper per kind of access, each adding
 * the data-plane actions on the one resource and the KMS actions that access needs, the latter only
 * through the service that stores the data (`kms:ViaService`), never on the key directly.
 *
 * DynamoDB access is narrowed per statement to the partition-key prefixes a function touches
 * (`dynamodb:LeadingKeys`, docs/data-model.md), so e.g. the dead-letter tool cannot write counters.
 */
import { Aws } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sqs from "aws-cdk-lib/aws-sqs";

/** The item-level DynamoDB actions a billing function may get (no Scan, no table management). */
export type TableAction =
  | "dynamodb:GetItem"
  | "dynamodb:BatchGetItem"
  | "dynamodb:Query"
  | "dynamodb:PutItem"
  | "dynamodb:UpdateItem"
  | "dynamodb:DeleteItem"
  | "dynamodb:ConditionCheckItem"
  | "dynamodb:BatchWriteItem"
  | "dynamodb:PartiQLInsert";

/** Actions on the given partition-key patterns (`*` matches any rest, e.g. `CTR#*`). */
export interface TableAccess {
  readonly actions: readonly TableAction[];
  readonly leadingKeys: readonly string[];
}

const READS: ReadonlySet<string> = new Set(["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]);

/** `kms:ViaService` value of a service in the stack's region. */
export const viaService = (service: "dynamodb" | "sqs" | "s3") => `${service}.${Aws.REGION}.amazonaws.com`;

function grantKeyVia(
  grantee: iam.IGrantable,
  key: kms.IKey,
  service: "dynamodb" | "sqs" | "s3",
  actions: readonly string[],
) {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [...actions],
      resources: [key.keyArn],
      conditions: { StringEquals: { "kms:ViaService": viaService(service) } },
    }),
  );
}

/** Item access on the table, one statement per row, each limited to its leading keys. */
export function grantTableItems(
  grantee: iam.IGrantable,
  table: dynamodb.ITable,
  key: kms.IKey,
  access: readonly TableAccess[],
): void {
  for (const row of access) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...row.actions],
        resources: [table.tableArn],
        conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [...row.leadingKeys] } },
      }),
    );
  }
  const writes = access.some((r) => r.actions.some((a) => !READS.has(a)));
  grantKeyVia(
    grantee,
    key,
    "dynamodb",
    writes
      ? ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
      : ["kms:Decrypt", "kms:DescribeKey"],
  );
}

/**
 * Send to an encrypted queue (SQS asks KMS for a data key and, when reusing it, to decrypt it).
 * `readsAttributes`: the sender reads the queue's maximum message size (the usage-queue adapter).
 */
export function grantQueueSend(
  grantee: iam.IGrantable,
  queue: sqs.IQueue,
  key: kms.IKey,
  opts: { readsAttributes?: boolean } = {},
): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: opts.readsAttributes ? ["sqs:SendMessage", "sqs:GetQueueAttributes"] : ["sqs:SendMessage"],
      resources: [queue.queueArn],
    }),
  );
  grantKeyVia(grantee, key, "sqs", ["kms:Decrypt", "kms:GenerateDataKey"]);
}

/** Receive, delete and return messages of an encrypted queue (a Lambda event source needs GetQueueAttributes). */
export function grantQueueConsume(grantee: iam.IGrantable, queue: sqs.IQueue, key: kms.IKey): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
      ],
      resources: [queue.queueArn],
    }),
  );
  grantKeyVia(grantee, key, "sqs", ["kms:Decrypt"]);
}

/** Put objects (single-part uploads) under a key prefix (e.g. `dead-letters/`) of an SSE-KMS bucket. */
export function grantObjectsPut(
  grantee: iam.IGrantable,
  bucket: s3.IBucket,
  key: kms.IKey,
  prefix: string,
  /** Multipart uploads to an SSE-KMS bucket also need kms:Decrypt (S3 reads the parts' data keys). */
  opts: { multipart?: boolean } = {},
): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["s3:PutObject"], resources: [bucket.arnForObjects(`${prefix}*`)] }),
  );
  grantKeyVia(
    grantee,
    key,
    "s3",
    opts.multipart ? ["kms:GenerateDataKey", "kms:Decrypt"] : ["kms:GenerateDataKey"],
  );
}

/** Read objects under a key prefix of an SSE-KMS bucket. */
export function grantObjectsGet(
  grantee: iam.IGrantable,
  bucket: s3.IBucket,
  key: kms.IKey,
  prefix: string,
): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: [bucket.arnForObjects(`${prefix}*`)] }),
  );
  grantKeyVia(grantee, key, "s3", ["kms:Decrypt"]);
}

/**
 * A grant and the variable that names its resource, in one call (Powertools' `bindTable`): a
 * function never gets the name of a resource it may not use, nor a grant it is not told about.
 */
export function grantWithEnv(
  fn: lambda.Function,
  variable: string,
  value: string,
  grant: (grantee: iam.IGrantable) => void,
): void {
  grant(fn);
  fn.addEnvironment(variable, value);
}
