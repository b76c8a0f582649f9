/** The `data` of the WhatsApp event types (contract.md §1). */
import { z } from "zod";
import { data, deliveredToEndUser, nonEmpty } from "../../../contract/event-data.js";

export const whatsappEvents = {
  "whatsapp.inbound": data({ endUserId: nonEmpty, senderId: nonEmpty }),
  "whatsapp.message": deliveredToEndUser
    .extend({
      senderId: nonEmpty,
      kind: z.enum(["template", "freeform"]),
      category: z.enum(["marketing", "utility", "authentication"]).optional(),
    })
    .superRefine((d, ctx) => {
      if (d.kind === "template" && d.category === undefined)
        ctx.addIssue({ code: "custom", path: ["category"], message: "required for kind template" });
    }),
} as const;

type WhatsappEvents = typeof whatsappEvents;
declare module "../registered.js" {
  interface BuiltInEventSchemas extends WhatsappEvents {}
}
