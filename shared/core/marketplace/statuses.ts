/**
 * What each answer of the Marketplace Metering API means for a usage event (pure, no I/O).
 *
 * The statuses are the OpenAPI `StatusEnum` of the Metering API 2018-08-31 (Microsoft's
 * `microsoft/commercial-marketplace-openapi`, `Microsoft.Marketplace.Metering/2018-08-31/meteringapi.v1.json`).
 * An item's outcome is taken from its `status` only: Microsoft puts `error.code: "BadArgument"` on
 * every refused batch item whatever the reason (the field in `error.details[].target`), so the code
 * says nothing about the outcome. See docs/decisions.md,
 * "Microsoft's Metering API as it really answers".
 */

/** The ten statuses of the Metering API's StatusEnum. */
export const METERING_STATUSES = [
  "Accepted",
  "Duplicate",
  "Expired",
  "Error",
  "ResourceNotFound",
  "ResourceNotAuthorized",
  "ResourceNotActive",
  "InvalidDimension",
  "InvalidQuantity",
  "BadArgument",
] as const;
export type MeteringStatus = (typeof METERING_STATUSES)[number];

/**
 * accepted: the Marketplace took this event.
 * duplicate-accepted: it already holds one for the resource/dimension/hour — ours, sent by a call
 *   whose answer was lost — recorded as accepted, never resent.
 * rejected-final: refused for good; kept with Microsoft's status and reason, never resent, never
 *   carried into later hours; `expired` tells the 24-hour window apart from other refusals.
 * retry: no verdict on the event (a server-side error, or a status we do not know): it stays
 *   pending and is sent again; a second send is answered Duplicate if it was in fact taken.
 */
export type StatusOutcome =
  | { readonly kind: "accepted" }
  | { readonly kind: "duplicate-accepted" }
  | { readonly kind: "rejected-final"; readonly expired: boolean; readonly reason: string }
  | { readonly kind: "retry"; readonly reason: string };

const FINAL_REASONS: Readonly<Record<Exclude<MeteringStatus, "Accepted" | "Duplicate" | "Error">, string>> = {
  Expired: "the hour is more than 24 hours back or in the future",
  ResourceNotFound: "the Marketplace does not know the resource (or the plan is not the resource's)",
  ResourceNotAuthorized: "the publisher's Entra ID application may not report usage for the resource",
  ResourceNotActive: "the subscription is not active (suspended or cancelled)",
  InvalidDimension: "the dimension is not one of the plan's",
  InvalidQuantity: "the quantity is not valid (must be greater than 0)",
  BadArgument: "a field of the usage event is missing or malformed",
};

export const isMeteringStatus = (s: string): s is MeteringStatus =>
  (METERING_STATUSES as readonly string[]).includes(s);

/** The outcome of one answered usage event, from its status alone. */
export function outcomeOfStatus(status: string): StatusOutcome {
  if (!isMeteringStatus(status))
    return { kind: "retry", reason: `unknown Marketplace status ${JSON.stringify(status)}` };
  switch (status) {
    case "Accepted":
      return { kind: "accepted" };
    case "Duplicate":
      return { kind: "duplicate-accepted" };
    case "Error":
      return { kind: "retry", reason: "the Marketplace answered Error (a failure on its side)" };
    default:
      return { kind: "rejected-final", expired: status === "Expired", reason: FINAL_REASONS[status] };
  }
}
