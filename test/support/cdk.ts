/**
 * The CDK tests' shared parts (issue 13): a cloud assembly folder per describe block, the logical
 * id of a construct's resource, and the policy statement every queue and bucket carries.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CfnElement, Stack } from "aws-cdk-lib";
import { Match, type Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { afterAll } from "vitest";

/**
 * A temporary folder (named `prefix…`) for the enclosing block's CDK app to write its cloud assembly
 * to: made on the first call, removed after the block's tests.
 */
export function useOutdir(prefix: string): () => string {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    dir ??= mkdtempSync(join(tmpdir(), prefix));
    return dir;
  };
}

/** The logical id of the construct's CloudFormation resource in its stack. */
export const logicalIdOf = (c: IConstruct): string =>
  Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);

/** A policy document (as `hasResourceProperties` matches it) with a statement denying any request not over TLS. */
export const deniesNonTls = () => ({
  Statement: Match.arrayWith([
    Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
  ]),
});

/** The template has a policy on the queue `queueId` denying any request not over TLS. */
export const expectTlsOnlyQueue = (template: Template, queueId: string): void =>
  template.hasResourceProperties("AWS::SQS::QueuePolicy", {
    Queues: [{ Ref: queueId }],
    PolicyDocument: deniesNonTls(),
  });
