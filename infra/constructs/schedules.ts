/**
 * Hourly EventBridge Scheduler schedules: each invokes one function with its own role, is retried
 * within the hour, then dead-lettered to one encrypted queue the stack alarms on.
 */
import { Aws, type CfnElement, Duration, type RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { BillingFunction } from "./billing-function.js";
import { grantQueueSend } from "./grants.js";
import { DEAD_LETTER_QUEUE_TERMINAL, secureQueue } from "./secure-queue.js";

/** The queue every schedule's undelivered invocations go to (terminal, alarmed by the monitoring). */
export function scheduleDeadLetterQueue(
  scope: Construct,
  base: { key: kms.IKey; removalPolicy: RemovalPolicy },
): sqs.Queue {
  return secureQueue(scope, "ScheduleDeadLetterQueue", {
    ...base,
    terminal: {
      ...DEAD_LETTER_QUEUE_TERMINAL,
      notADlqOfAQueue: "This queue is itself the dead-letter queue of the EventBridge Scheduler schedules",
    },
  });
}

export interface HourlyScheduleProps {
  /** `<name>Schedule` and `<name>ScheduleRole` are the construct ids. */
  readonly name: string;
  readonly description: string;
  readonly function: BillingFunction;
  readonly deadLetterQueue: sqs.IQueue;
  readonly key: kms.IKey;
  /** @default true */
  readonly enabled?: boolean;
}

/** An hourly schedule invoking the function with a role that may invoke it and send to the DLQ only. */
export function hourlySchedule(scope: Construct, props: HourlyScheduleProps): scheduler.Schedule {
  const { name, function: fn, deadLetterQueue } = props;
  const role = new iam.Role(scope, `${name}ScheduleRole`, {
    assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
      conditions: { StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID } },
    }),
    description: `EventBridge Scheduler invokes ${name}`,
  });
  grantQueueSend(role, deadLetterQueue, props.key);
  const schedule = new scheduler.Schedule(scope, `${name}Schedule`, {
    description: props.description,
    schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
    target: new LambdaInvoke(fn.function, {
      input: scheduler.ScheduleTargetInput.fromObject({}),
      role,
      retryAttempts: 3,
      maxEventAge: Duration.hours(1),
      deadLetterQueue,
    }),
    ...(props.enabled === undefined ? {} : { enabled: props.enabled }),
  });
  const functionId = Stack.of(scope).getLogicalId(fn.function.node.defaultChild as CfnElement);
  Validations.of(role).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
    reason:
      "Scheduler may invoke any version or alias of this one function (LambdaInvoke grants the function ARN and its qualifiers)",
  });
  return schedule;
}
