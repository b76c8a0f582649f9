/** The naive design bench:ingest compares with: per event one conditional put of the identity and one
 * ADD on the account's counter (no batching, no exactly-once across the two writes). */
import { type DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { mapLimit } from "../shared/core/map-limit.js";
import { parseUsageMessage } from "../shared/core/products/index.js";

export const naiveIngest =
  (dynamodb: DynamoDBClient, tableName: string) =>
  async (event: SQSEvent): Promise<SQSBatchResponse> => {
    // Baseline: per event one conditional put of the identity and one ADD on the account's counter.
    const failures: { itemIdentifier: string }[] = [];
    await mapLimit(event.Records, 8, async (m) => {
      try {
        const e = parseUsageMessage(m.body);
        const id = JSON.stringify([e.source, e.id]);
        await dynamodb
          .send(
            new PutItemCommand({
              TableName: tableName,
              Item: { pk: { S: `NAIVE#${id}` }, sk: { S: "ID" }, a: { S: e.subject } },
              ConditionExpression: "attribute_not_exists(pk)",
            }),
          )
          .then(() =>
            dynamodb.send(
              new UpdateItemCommand({
                TableName: tableName,
                Key: { pk: { S: `NAIVECTR#${e.subject}#${e.time.slice(0, 7)}` }, sk: { S: e.type } },
                UpdateExpression: "ADD q :one",
                ExpressionAttributeValues: { ":one": { N: "1" } },
              }),
            ),
          );
      } catch {
        failures.push({ itemIdentifier: m.messageId });
      }
    });
    return { batchItemFailures: failures };
  };
