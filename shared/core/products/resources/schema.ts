/** The `data` of resource activations and deactivations (contract.md §1): numbers, senders, trunks. */
import { z } from "zod";
import { dimensionValue } from "../../../contract/common.js";
import { country, data, nonEmpty } from "../../../contract/event-data.js";

export const resourceTypes = [
  "number",
  "whatsapp_sender",
  "cnam",
  "e911",
  "sip_trunk",
  "ip_address",
  "byoc",
] as const;

const resourceData = data({
  resourceId: nonEmpty,
  resourceType: z.enum(resourceTypes),
  numberType: dimensionValue.optional(),
  country: country.optional(),
  hosting: z.enum(["cloud", "hosted"]).optional(),
  channels: z.number().int().min(1).optional(),
  plan: z.enum(["metered", "unlimited_us"]).optional(),
  numberResourceId: nonEmpty.optional(),
}).superRefine((d, ctx) => {
  const need = (key: keyof typeof d, why: string) => {
    if (d[key] === undefined)
      ctx.addIssue({ code: "custom", path: [key as string], message: `required ${why}` });
  };
  if (d.resourceType === "number") {
    need("numberType", "for resourceType number");
    need("country", "for resourceType number");
  }
  if (d.resourceType === "whatsapp_sender") need("hosting", "for resourceType whatsapp_sender");
  if (d.resourceType === "sip_trunk") {
    need("channels", "for resourceType sip_trunk");
    need("plan", "for resourceType sip_trunk");
    need("country", "for resourceType sip_trunk");
  }
  if (d.resourceType === "cnam" || d.resourceType === "e911")
    need("numberResourceId", `for resourceType ${d.resourceType}`);
});

export const resourceEvents = {
  "resource.activated": resourceData,
  "resource.deactivated": resourceData,
} as const;

type ResourceEvents = typeof resourceEvents;
declare module "../registered.js" {
  interface BuiltInEventSchemas extends ResourceEvents {}
}
