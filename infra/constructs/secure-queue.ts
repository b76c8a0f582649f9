/**
 * Every queue of the stack has the same shape (after AWS Solutions Constructs' sqs-helper): SSE with
 * the stack's KMS key, a policy denying any request not over TLS, a retention, and either a DLQ
 * after N receives or, for a queue that is itself a dead-letter target, an acknowledgement of the
 * cdk-nag rules that ask every queue for a DLQ (with the reason).
 */
import { Duration, type RemovalPolicy, Validations } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

export interface SecureQueueProps {
  readonly key: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
  /** @default 4 days for a source queue, 14 days for a dead-letter target */
  readonly retentionPeriod?: Duration;
  readonly visibilityTimeout?: Duration;
  /** The queue's own DLQ, after `maxReceiveCount` receives. */
  readonly deadLetterQueue?: sqs.DeadLetterQueue;
  /**
   * This queue is a dead-letter target (terminal by design): the reason acknowledges the rules
   * asking it for a DLQ of its own (Serverless-SQSRedrivePolicy, and AwsSolutions-SQS3 when given).
   */
  readonly terminal?: { readonly reason: string; readonly notADlqOfAQueue?: string };
}

export function secureQueue(scope: Construct, id: string, props: SecureQueueProps): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: props.key,
    enforceSSL: true,
    retentionPeriod: props.retentionPeriod ?? Duration.days(props.terminal ? 14 : 4),
    ...(props.visibilityTimeout ? { visibilityTimeout: props.visibilityTimeout } : {}),
    ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
    removalPolicy: props.removalPolicy,
  });
  if (props.terminal)
    Validations.of(queue).acknowledge(
      ...(props.terminal.notADlqOfAQueue
        ? [{ id: "AwsSolutions::AwsSolutions-SQS3", reason: props.terminal.notADlqOfAQueue }]
        : []),
      { id: "Serverless::Serverless-SQSRedrivePolicy", reason: props.terminal.reason },
    );
  return queue;
}

/** What every dead-letter queue of the stack answers the rules asking it for a DLQ of its own. */
export const DEAD_LETTER_QUEUE_TERMINAL = {
  reason: "A dead-letter queue: terminal by design, its depth is alarmed and operators redrive it",
} as const;

/** A source queue and its dead-letter queue (terminal, 14 days), which it moves a message to after `maxReceiveCount` receives. */
export function queueWithDeadLetters(
  scope: Construct,
  ids: { readonly queue: string; readonly deadLetters: string },
  props: Omit<SecureQueueProps, "deadLetterQueue" | "terminal"> & { readonly maxReceiveCount: number },
): { queue: sqs.Queue; deadLetters: sqs.Queue } {
  const { maxReceiveCount, ...queueProps } = props;
  const base = { key: props.key, removalPolicy: props.removalPolicy };
  const deadLetters = secureQueue(scope, ids.deadLetters, { ...base, terminal: DEAD_LETTER_QUEUE_TERMINAL });
  const queue = secureQueue(scope, ids.queue, {
    ...queueProps,
    deadLetterQueue: { queue: deadLetters, maxReceiveCount },
  });
  return { queue, deadLetters };
}
