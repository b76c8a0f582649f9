/**
 * The dead-letter rate of ingest. Dead letters are the sender's faults only (invalid events, unknown
 * accounts, no configuration): usage that is not billed until someone fixes and redrives it. Valid
 * usage that fails through our fault returns to the queue instead, and is alarmed on its own metric
 * (IngestErrorsAlarm, on any such failure). The rate is dead-lettered events per event handled in 5
 * minutes, so one letter in a quiet hour and a burst of bad input in a busy one both alarm.
 */

import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type { Construct } from "constructs";
import { METRIC } from "../../shared/runtime/observability.js";
import { alarmAbove, billingMetric } from "./alarms.js";

/** Percent of the events handled in 5 minutes that were dead-lettered, above which the alarm fires. */
export const DEAD_LETTER_RATE_ALARM_PERCENT = 1;

/** Dead-lettered events as a percent of the events handled (0 when none were). */
export function deadLetterRate(): cloudwatch.MathExpression {
  const sum = (name: string) => billingMetric(name, cloudwatch.Stats.SUM);
  // A batch emits every outcome count (zeros included); FILL covers the periods without a batch.
  const total = "(FILL(st, 0) + FILL(du, 0) + FILL(co, 0) + FILL(dl, 0))";
  return new cloudwatch.MathExpression({
    expression: `IF(${total} > 0, 100 * FILL(dl, 0) / ${total}, 0)`,
    usingMetrics: {
      dl: sum(METRIC.ingestDeadLettered),
      st: sum(METRIC.ingestStored),
      du: sum(METRIC.ingestDuplicates),
      co: sum(METRIC.ingestConflicts),
    },
    label: "Dead-lettered events (% of events handled)",
    period: Duration.minutes(5),
  });
}

export function ingestDeadLetterRateAlarm(scope: Construct): cloudwatch.Alarm {
  return alarmAbove(
    scope,
    "IngestDeadLetterRateAlarm",
    `More than ${DEAD_LETTER_RATE_ALARM_PERCENT} % of the usage events handled in 5 minutes were dead-lettered (the sender's faults: invalid events, unknown accounts, no configuration): see billing dead-letters list`,
    deadLetterRate(),
    DEAD_LETTER_RATE_ALARM_PERCENT,
  );
}
