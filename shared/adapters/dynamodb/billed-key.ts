/** The close's own key prefix: items/closes.ts (billing-table.ts reads it here until its split). */
export { billedKey } from "./items/closes.js";
