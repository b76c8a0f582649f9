/**
 * What a close writes (its record and its invoice lines) lives under a key prefix of its own: ingest,
 * which handles untrusted input, may write usage and late markers under `ACCT#` but holds no write
 * grant on `BILL#`, which IAM's `dynamodb:LeadingKeys` can tell apart (it cannot restrict sort keys).
 */
export const billedKey = (accountId: string): string => `BILL#${accountId}`;
