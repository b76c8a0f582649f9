/** The finance API's Lambda handler over a store, and a GET as API Gateway hands it over. */
import { createFinanceApiHandler } from "../../functions/finance-api/handler.js";
import { httpApiEvent } from "../../local/finance-api-server.js";
import type { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";

/** The deployed handler over the store's periods, usage and configuration. */
export const financeApiOver = (store: DynamoBillingStore) =>
  createFinanceApiHandler({ periods: store, usage: store.usage, config: () => store.loadConfig() });

/** A GET of the finance API as API Gateway (HTTP API, payload 2.0) hands it to the handler. */
export const apiEvent = (path: string, query = "") =>
  httpApiEvent({ method: "GET", url: query ? `${path}?${query}` : path, headers: {} });
