/**
 * The one alarm shape of the stack: a metric above a threshold (0 unless said) in one evaluation
 * period, missing data not breaching (no traffic is no incident). Every such alarm notifies the
 * alarm topic through the AlarmsNotify aspect (monitoring.ts).
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { METRIC_DIMENSIONS, METRICS_NAMESPACE } from "../../shared/runtime/observability.js";

export function alarmAbove(
  scope: Construct,
  id: string,
  description: string,
  metric: cloudwatch.IMetric,
  threshold = 0,
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, id, {
    alarmDescription: description,
    metric,
    threshold,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

/** A billing metric as the handlers emit it (namespace, `service` dimension; observability.ts). */
export const billingMetric = (
  metricName: string,
  statistic: string,
  opts: { period?: Duration; dimensions?: Record<string, string> } = {},
) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { ...METRIC_DIMENSIONS, ...opts.dimensions },
    period: opts.period ?? Duration.minutes(5),
    statistic,
  });

/** Messages waiting in a queue (a DLQ or a failure queue that should stay empty). */
export const queueDepth = (queue: sqs.IQueue) =>
  queue.metricApproximateNumberOfMessagesVisible({
    period: Duration.minutes(5),
    statistic: cloudwatch.Stats.MAXIMUM,
  });
