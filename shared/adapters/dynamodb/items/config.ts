/**
 * The configuration's items (config-store.ts): one per account and per tariff, the zone index the
 * close scheduler lists, account versions and tariff revisions (contract §2).
 *
 * | item            | pk                    | sk                   | attributes                           |
 * |-----------------|-----------------------|----------------------|--------------------------------------|
 * | account         | CFG#ACCOUNT           | <accountId>          | i (position in the file), account, tariffRev, v |
 * | tariff          | CFG#TARIFF            | <tariffId>           | i, tariff                            |
 * | zone            | CFG#ZONE              | <IANA zone>          | (the set of zones some account uses) |
 * | in zone         | CFG#TZ#<zone>         | <accountId>          | (a zone's accounts)                  |
 * | account version | CFG#V#<accountId>     | <from, 15 digits>#V  | from, account, tariffRev (never overwritten) |
 * | account ended   | CFG#V#<accountId>     | <at, 15 digits>#E    | at (the load that omitted the account) |
 * | tariff revision | CFG#TARIFF#<tariffId> | <rev>                | tariff (each content ever loaded, kept) |
 *
 * Accounts and tariffs are kept as the JSON text they were saved as: a tariff's revision is the hash
 * of that text, and a save compares an account's text to tell a changed account.
 */
import { ITEM_LIMIT_BYTES } from "../item-size.js";
import { itemCodec, MAX_KEY_BYTES, num, opt, str } from "./codec.js";

export const ACCOUNTS_PK = "CFG#ACCOUNT";
export const TARIFFS_PK = "CFG#TARIFF";
export const ZONES_PK = "CFG#ZONE";
export const zoneAccountsPk = (zone: string) => `CFG#TZ#${zone}`;
export const accountHistoryPk = (accountId: string) => `CFG#V#${accountId}`;
/** History sort keys order chronologically: the load instant, 15 digits, then V (version) or E (end). */
const historyKey = (accountId: string, at: number, kind: "V" | "E") => ({
  pk: accountHistoryPk(accountId),
  sk: `${String(at).padStart(15, "0")}#${kind}`,
});
/** An item of an account's history is its end (else a version). */
export const isAccountEnd = (sk: unknown) => String(sk).endsWith("#E");

/**
 * Accounts and tariffs are bounded by the item limit only (the files are the operator's): one
 * item each keeps 100,000 accounts within reach of one Query and ingest's lookup O(1).
 */
export const accountItem = itemCodec({
  kind: "account",
  key: (k: { accountId: string }) => ({ pk: ACCOUNTS_PK, sk: k.accountId }),
  fields: {
    position: num("i"),
    accountJson: str("account"),
    /** The revision of its tariff at the save: readers cache tariffs by revision. */
    tariffRev: opt(str("tariffRev")),
    /** The sort key of its latest version. */
    version: opt(str("v")),
  },
  maxBytes: ITEM_LIMIT_BYTES,
});

export const tariffItem = itemCodec({
  kind: "tariff",
  key: (k: { tariffId: string }) => ({ pk: TARIFFS_PK, sk: k.tariffId }),
  fields: { position: num("i"), tariffJson: str("tariff") },
  maxBytes: ITEM_LIMIT_BYTES,
});

/** Its key alone: the zone is the sort key. */
export const zoneItem = itemCodec({
  kind: "zone",
  key: (k: { zone: string }) => ({ pk: ZONES_PK, sk: k.zone }),
  fields: {},
  maxBytes: MAX_KEY_BYTES,
});

export const zoneAccountItem = itemCodec({
  kind: "account in zone",
  key: (k: { zone: string; accountId: string }) => ({ pk: zoneAccountsPk(k.zone), sk: k.accountId }),
  fields: {},
  maxBytes: MAX_KEY_BYTES,
});

export const accountVersionItem = itemCodec({
  kind: "account version",
  key: (k: { accountId: string; from: number }) => historyKey(k.accountId, k.from, "V"),
  fields: { from: num("from"), accountJson: str("account"), tariffRev: opt(str("tariffRev")) },
  maxBytes: ITEM_LIMIT_BYTES,
});

export const accountEndItem = itemCodec({
  kind: "account end",
  key: (k: { accountId: string; at: number }) => historyKey(k.accountId, k.at, "E"),
  fields: { at: num("at") },
  maxBytes: MAX_KEY_BYTES + 20,
});

export const tariffRevisionItem = itemCodec({
  kind: "tariff revision",
  key: (k: { tariffId: string; rev: string }) => ({ pk: `CFG#TARIFF#${k.tariffId}`, sk: k.rev }),
  fields: { tariffJson: str("tariff") },
  maxBytes: ITEM_LIMIT_BYTES,
});
