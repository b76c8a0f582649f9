/**
 * Alarms that reach someone, and the dashboard: an SNS topic (encrypted with the stack key, TLS only,
 * an e-mail subscription) that every CloudWatch alarm of the stack notifies — the AlarmsNotify aspect
 * adds the action to each alarm, including alarms other constructs add later — and the alarms and
 * dashboard widgets over the billing metrics (names from shared/runtime/observability.ts).
 */
import { Aws, Duration, type IAspect, type RemovalPolicy, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct, type IConstruct } from "constructs";
import {
  CURRENCY_DIMENSION,
  INGEST_UNEXPECTED_ERRORS_METRIC,
  METRIC,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
} from "../../shared/runtime/observability.js";
import { alarmAbove, billingMetric, queueDepth } from "./alarms.js";
import type { BillingFunction } from "./billing-function.js";
import type { FinanceApi } from "./finance-api.js";
import { secureQueue } from "./secure-queue.js";

/** Oldest usage message older than this: ingest is not keeping up (or stopped). */
export const USAGE_AGE_ALARM = Duration.minutes(15);
/** Marketplace usage still pending this long (the Metering API refuses events older than 24 h). */
export const MARKETPLACE_PENDING_ALARM_HOURS = 20;

/**
 * Alarms whose return to OK is news worth a message: a state that ends by itself (a queue drained,
 * throttling over, the schedule running again, durations back down). An alarm on a one-off event
 * (errors in a period) returns to OK at the next quiet period with nothing fixed: no OK message,
 * which would read as "resolved".
 */
const okHelps = new WeakSet<cloudwatch.Alarm>();
export const notifyOnOk = (alarm: cloudwatch.Alarm): cloudwatch.Alarm => {
  okHelps.add(alarm);
  return alarm;
};

/** Adds the topic as alarm action of every CloudWatch alarm in the scope (and OK where it helps), once. */
export class AlarmsNotify implements IAspect {
  private readonly done = new WeakSet<cloudwatch.Alarm>();
  constructor(private readonly topic: sns.ITopic) {}
  visit(node: IConstruct): void {
    if (!(node instanceof cloudwatch.Alarm) || this.done.has(node)) return;
    this.done.add(node);
    node.addAlarmAction(new SnsAction(this.topic));
    if (okHelps.has(node)) node.addOkAction(new SnsAction(this.topic));
  }
}

/** A duration this close to the timeout (a share of it) alarms: the next bigger batch times out. */
export const DURATION_ALARM_SHARE = 0.8;

export interface BillingMonitoringProps {
  readonly key: kms.IKey;
  /** Address the alarm topic mails (the stage's, or a stack parameter). */
  readonly alarmEmail: string;
  /** The on-call pager's HTTPS endpoint, subscribed to the same topic (undelivered pages kept and alarmed). */
  readonly pagerUrl?: string;
  readonly removalPolicy: RemovalPolicy;
  readonly table: dynamodb.ITable;
  readonly financeApi: FinanceApi;
  /** Functions run by an enabled schedule: each must run every hour (heartbeat). */
  readonly scheduled: readonly BillingFunction[];
  readonly usageQueue: sqs.IQueue;
  readonly closeQueue: sqs.IQueue;
  /** Hours after a period's end past which an account not closed is overdue. */
  readonly closeOverdueHours: number;
  readonly scheduleDlq: sqs.IQueue;
  readonly functions: Readonly<Record<string, BillingFunction>>;
}

const custom = (metricName: string, statistic: string) => billingMetric(metricName, statistic);
/** A dashboard graph half a row wide (a row is 24 columns): every row holds two widgets. */
const halfRowGraph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
  new cloudwatch.GraphWidget({ title, width: 12, left, right });

export class BillingMonitoring extends Construct {
  readonly topic: sns.Topic;
  /** Pages SNS could not deliver to the pager endpoint (with a pager only). */
  readonly pagerDeadLetters: sqs.Queue | undefined;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: BillingMonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, "AlarmTopic", {
      displayName: "CPaaS billing alarms",
      masterKey: props.key,
      enforceSSL: true,
    });
    const mail = this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    Validations.of(mail).acknowledge({
      id: "Serverless::Serverless-SNSRedrivePolicy",
      reason:
        "An e-mail subscription: SNS retries e-mail delivery itself, and every alarm also stays visible in CloudWatch and on the dashboard",
    });
    // A service of this account (never another's) encrypts with the key what it sends on.
    const allowServiceOfThisAccount = (service: string) =>
      props.key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(service)],
          actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
          resources: ["*"],
          conditions: { StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID } },
        }),
      );
    // CloudWatch publishes this account's alarms to the encrypted topic.
    allowServiceOfThisAccount("cloudwatch.amazonaws.com");
    if (props.pagerUrl) {
      // A page SNS could not deliver after its retries is kept here, and its depth mails the topic.
      this.pagerDeadLetters = secureQueue(this, "PagerDeadLetterQueue", {
        key: props.key,
        removalPolicy: props.removalPolicy,
        terminal: {
          notADlqOfAQueue: "This queue is itself the dead-letter queue of the pager's SNS subscription",
          reason: "A dead-letter queue: terminal by design, its depth is alarmed (PagerUndeliveredAlarm)",
        },
      });
      this.topic.addSubscription(
        new subscriptions.UrlSubscription(props.pagerUrl, {
          protocol: sns.SubscriptionProtocol.HTTPS,
          deadLetterQueue: this.pagerDeadLetters,
        }),
      );
      // SNS encrypts the undelivered pages it moves to the (encrypted) dead-letter queue.
      allowServiceOfThisAccount("sns.amazonaws.com");
    }

    const over = (alarmId: string, description: string, metric: cloudwatch.IMetric, threshold = 0) => {
      const alarm = alarmAbove(this, alarmId, description, metric, threshold);
      this.alarms.push(alarm);
      return alarm;
    };

    if (this.pagerDeadLetters)
      over(
        "PagerUndeliveredAlarm",
        "SNS could not deliver alarms to the pager endpoint after its retries (see the pager dead-letter queue)",
        queueDepth(this.pagerDeadLetters),
      );
    // The finance API (API Gateway answers 5xx when the function fails or times out).
    notifyOnOk(
      over(
        "FinanceApi5xxAlarm",
        "The finance API answered 5xx (the function failed or timed out): finance cannot read lines or reports",
        props.financeApi.api.metricServerError({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.SUM,
        }),
      ),
    );
    over(
      "FinanceApiErrorsAlarm",
      "The finance API function failed (an unexpected error, logged with its route)",
      props.financeApi.handler.function.metricErrors({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
    );
    // Throttled reads or writes for 10 minutes: the SDK's retries are no longer absorbing them
    // (partition heat, the on-demand maximum, or the account quota).
    const throttled = (name: string) =>
      props.table.metric(name, { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM });
    const tableThrottles = new cloudwatch.Alarm(this, "TableThrottledAlarm", {
      alarmDescription:
        "DynamoDB throttled reads or writes of the billing table for 10 minutes (hot key, on-demand maximum or account quota)",
      metric: new cloudwatch.MathExpression({
        expression: "reads + writes",
        usingMetrics: { reads: throttled("ReadThrottleEvents"), writes: throttled("WriteThrottleEvents") },
        label: "Throttle events",
        period: Duration.minutes(5),
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarms.push(notifyOnOk(tableThrottles));
    // A heartbeat per enabled schedule: no invocation in two hourly periods (a disabled or deleted
    // schedule, a broken role) breaches, missing data included.
    for (const f of props.scheduled)
      this.alarms.push(
        notifyOnOk(
          new cloudwatch.Alarm(this, `${f.node.id}HeartbeatAlarm`, {
            alarmDescription: `${f.node.id} has not run for two hours: its hourly schedule is disabled or cannot invoke it`,
            metric: f.function.metricInvocations({
              period: Duration.hours(1),
              statistic: cloudwatch.Stats.SUM,
            }),
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluationPeriods: 2,
            datapointsToAlarm: 2,
            treatMissingData: cloudwatch.TreatMissingData.BREACHING,
          }),
        ),
      );
    // Every function: its longest run above 80 % of its timeout.
    for (const f of Object.values(props.functions))
      notifyOnOk(
        over(
          `${f.node.id}DurationAlarm`,
          `A ${f.node.id} run took more than ${DURATION_ALARM_SHARE * 100} % of its ${f.timeout.toSeconds()} s timeout`,
          f.function.metricDuration({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
          Math.round(DURATION_ALARM_SHARE * f.timeout.toMilliseconds()),
        ),
      );

    const overOk = (...args: Parameters<typeof over>) => notifyOnOk(over(...args));
    overOk(
      "UsageQueueAgeAlarm",
      `The oldest usage message waited more than ${USAGE_AGE_ALARM.toMinutes()} minutes: ingest is behind or stopped`,
      props.usageQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      USAGE_AGE_ALARM.toSeconds(),
    );
    for (const [name, f] of Object.entries(props.functions)) {
      overOk(
        `${f.node.id}ThrottlesAlarm`,
        `The ${name} function was throttled (concurrency limit reached)`,
        f.function.metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      );
    }
    over(
      "ScheduleDeadLetterAlarm",
      "A scheduled invocation (close or marketplace report) could not be delivered after its retries (see the schedule dead-letter queue)",
      queueDepth(props.scheduleDlq),
    );
    over(
      "PeriodNotClosedAlarm",
      "A close run ended with accounts another run still holds: the period is not closed for them (a crashed run's lease passes after 20 minutes; run the close again)",
      custom(METRIC.closeAccountsNotClosed, cloudwatch.Stats.MAXIMUM),
    );
    // A period not closed N hours after its end: the scheduler enqueued accounts that late (it
    // was down or failing), or a close request has waited that long (held, failing, or a backlog).
    const overdue = props.closeOverdueHours;
    over(
      "CloseOverdueAlarm",
      `Accounts with usage in a period are still not closed ${overdue} hours after its end plus the grace (scheduler down, closes failing, or close requests suspended): see docs/runbook.md`,
      billingMetric(METRIC.closeAccountsOverdue, cloudwatch.Stats.MAXIMUM, { period: Duration.hours(1) }),
    );
    over(
      "CloseRequestSuspendedAlarm",
      "A close request named an account with no configuration at all: it is kept in suspense (the unclosed-usage index) until the account is configured (docs/runbook.md)",
      custom(METRIC.closeRequestsSuspended, cloudwatch.Stats.SUM),
    );
    overOk(
      "CloseQueueAgeAlarm",
      `A close request has waited more than ${overdue} hours: an account-period is still not closed (see the close worker log)`,
      props.closeQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      overdue * 3600,
    );
    const worker = props.functions.closeWorker;
    if (worker)
      over(
        "CloseWorkerErrorsAlarm",
        "Every close request of a batch failed (or the close worker could not start): the batch returns to the close queue",
        worker.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      );
    over(
      "MarketplaceRejectedAlarm",
      "The Marketplace Metering API rejected or expired usage events: they need manual handling (docs/runbook.md)",
      custom(METRIC.marketplaceRejected, cloudwatch.Stats.SUM),
    );
    overOk(
      "MarketplacePendingAlarm",
      `Marketplace usage has been pending more than ${MARKETPLACE_PENDING_ALARM_HOURS} hours (the API refuses events older than 24 hours)`,
      custom(METRIC.marketplaceOldestPendingHours, cloudwatch.Stats.MAXIMUM),
      MARKETPLACE_PENDING_ALARM_HOURS,
    );

    const ingest = props.functions.ingestUsage;
    const sum = cloudwatch.Stats.SUM;
    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      defaultInterval: Duration.days(1),
      widgets: [
        [
          halfRowGraph("Ingest: events per outcome", [
            custom(METRIC.ingestStored, sum),
            custom(METRIC.ingestDuplicates, sum),
            custom(METRIC.ingestConflicts, sum),
            custom(METRIC.ingestDeadLettered, sum),
            custom(METRIC.ingestLate, sum),
            custom(METRIC.ingestRetried, sum),
            custom(INGEST_UNEXPECTED_ERRORS_METRIC, sum),
          ]),
          halfRowGraph(
            "Usage queue",
            [props.usageQueue.metricApproximateNumberOfMessagesVisible()],
            [props.usageQueue.metricApproximateAgeOfOldestMessage()],
          ),
        ],
        [
          halfRowGraph(
            "Functions: errors and throttles",
            Object.values(props.functions).flatMap((f) => [
              f.function.metricErrors({ statistic: sum, label: `${f.node.id} errors` }),
              f.function.metricThrottles({ statistic: sum, label: `${f.node.id} throttles` }),
            ]),
          ),
          halfRowGraph(
            "Ingest duration and concurrency",
            ingest ? [ingest.function.metricDuration({ statistic: "p99" })] : [],
            ingest
              ? [ingest.function.metric("ConcurrentExecutions", { statistic: cloudwatch.Stats.MAXIMUM })]
              : [],
          ),
        ],
        [
          halfRowGraph(
            "Close runs",
            [
              custom(METRIC.closeAccountsClosed, sum),
              custom(METRIC.closeAccountsNotClosed, cloudwatch.Stats.MAXIMUM),
              custom(METRIC.closeAccountsEnqueued, sum),
              custom(METRIC.closeAccountsOverdue, cloudwatch.Stats.MAXIMUM),
              custom(METRIC.closeRequestsSuspended, sum),
              custom(METRIC.closeLines, sum),
            ],
            [custom(METRIC.closeDuration, cloudwatch.Stats.MAXIMUM)],
          ),
          halfRowGraph("Amount closed per currency", [
            new cloudwatch.MathExpression({
              expression: `SEARCH('{${METRICS_NAMESPACE},${Object.keys(METRIC_DIMENSIONS).join(",")},${CURRENCY_DIMENSION}} MetricName="${METRIC.closeAmount}"', 'Sum', 3600)`,
              label: "",
              period: Duration.hours(1),
            }),
          ]),
        ],
        [
          halfRowGraph(
            "Marketplace usage events",
            [
              custom(METRIC.marketplaceAccepted, sum),
              custom(METRIC.marketplaceRejected, sum),
              custom(METRIC.marketplacePending, cloudwatch.Stats.MAXIMUM),
            ],
            [custom(METRIC.marketplaceOldestPendingHours, cloudwatch.Stats.MAXIMUM)],
          ),
          new cloudwatch.AlarmStatusWidget({
            title: "Alarms",
            width: 12,
            alarms: this.alarms,
          }),
        ],
      ],
    });
  }
}
