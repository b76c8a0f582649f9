/** The Viber products (rating-rules §3.1, §3.2). */
import { usage } from "../rows.js";
import type { ProductRows } from "../types.js";

export const viberProducts = {
  "viber.message": usage("message", ["messageType"]),
  "viber.session": usage("session"),
  "viber_bot.message": usage("message"),
} as const satisfies ProductRows;
