/**
 * Configuration that scales (docs/data-model.md): one item per account and one per tariff, so that
 * 100,000 accounts fit (no item near the 400 KB limit) and ingest looks an account up in O(1). The
 * items (accounts, tariffs, the zone index, versions and revisions): items/config.ts.
 */
import { createHash } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DynamoDBDocumentClient as Doc,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import type { Account } from "../../contract/accounts.js";
import type { Tariff } from "../../contract/tariffs.js";
import type { AccountHistory, AccountVersion } from "../../core/account-versions.js";
import type { BillingConfig } from "../../core/config.js";
import { compositeKey } from "../../core/keys.js";
import { mapLimit } from "../../core/map-limit.js";
import { periodOf, periodWindow } from "../../core/time.js";
import type { Clock } from "../../ports/clock.js";
import type { ZoneAccountsPage } from "../../ports/close-queue.js";
import { type ConfigStore, NoConfigurationError } from "../../ports/storage.js";
import type { AccountDirectory, RatedAccount } from "../../ports/usage-store.js";
import {
  ACCOUNTS_PK,
  accountEndItem,
  accountHistoryPk,
  accountItem,
  accountVersionItem,
  isAccountEnd,
  TARIFFS_PK,
  tariffItem,
  tariffRevisionItem,
  ZONES_PK,
  zoneAccountItem,
  zoneAccountsPk,
  zoneItem,
} from "./items/config.js";
import { queryAll } from "./paginate.js";
import { putUnclosedIfAbsent } from "./unclosed-usage.js";

export { NoConfigurationError };

/** An account's versions as stored: each names its tariff's revision at its load (contract §2). */
export interface StoredVersions {
  readonly versions: readonly { from: number; account: Account; tariffRev?: string }[];
  readonly endedAt?: number;
}

export class DynamoConfigStore implements ConfigStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = Doc.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** Every account and tariff (the close iterates accounts by Query, one page at a time). */
  async loadConfig(): Promise<BillingConfig> {
    const [accounts, tariffs] = await Promise.all([this.accounts(), this.tariffs()]);
    if (accounts.length === 0 && tariffs.length === 0) throw new NoConfigurationError();
    return {
      accounts: accounts.map((a) => JSON.parse(a.accountJson) as Account),
      tariffs: tariffs.map((t) => JSON.parse(t.tariffJson) as Tariff),
    };
  }

  /** Every item of a partition (its key and its stored attributes). */
  private partition(pk: string) {
    return queryAll(this.doc, this.table, {
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": pk },
      ConsistentRead: true,
    });
  }

  /** The stored accounts, in file order, each with its id. */
  private async accounts() {
    const items = await this.partition(ACCOUNTS_PK);
    return items
      .map((i) => ({ accountId: String(i.sk), ...accountItem.decode(i) }))
      .sort((a, b) => a.position - b.position);
  }

  private async tariffs() {
    const items = await this.partition(TARIFFS_PK);
    return items
      .map((i) => ({ tariffId: String(i.sk), ...tariffItem.decode(i) }))
      .sort((a, b) => a.position - b.position);
  }

  /** The time zones some configured account uses (the close scheduler's first read). */
  async zones(): Promise<string[]> {
    return (await this.partition(ZONES_PK)).map((i) => String(i.sk)).sort();
  }

  /** A page of the ids of the accounts in a zone, after `after` (exclusive), at most `limit`. */
  async accountsInZone(
    zone: string,
    opts: { after?: string; limit?: number } = {},
  ): Promise<ZoneAccountsPage> {
    const r = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: opts.after !== undefined ? "pk = :pk AND sk > :after" : "pk = :pk",
        ExpressionAttributeValues: {
          ":pk": zoneAccountsPk(zone),
          ...(opts.after !== undefined ? { ":after": opts.after } : {}),
        },
        ProjectionExpression: "sk",
        Limit: opts.limit ?? 1000,
        ConsistentRead: true,
      }),
    );
    const accountIds = (r.Items ?? []).map((i) => String(i.sk));
    const last = accountIds.at(-1);
    return { accountIds, ...(r.LastEvaluatedKey && last !== undefined ? { next: last } : {}) };
  }

  /**
   * Writes every account and tariff and the zone index (CFG#ZONE, CFG#TZ#<zone>), then deletes the
   * items no longer in the configuration.
   */
  async saveConfig(config: BillingConfig, at: number = Date.now()): Promise<void> {
    const [oldAccounts, oldTariffs, oldZones] = await Promise.all([
      this.accounts(),
      this.tariffs(),
      this.partition(ZONES_PK),
    ]);
    const oldInZone = (
      await Promise.all(
        oldZones.map((z) =>
          queryAll(this.doc, this.table, {
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": zoneAccountsPk(String(z.sk)) },
            ProjectionExpression: "pk, sk",
            ConsistentRead: true,
          }),
        ),
      )
    ).flat();
    const zones = [...new Set(config.accounts.map((a) => a.timezone))];
    const tariffRevisions = new Map(config.tariffs.map((t) => [t.tariffId, revisionOf(JSON.stringify(t))]));
    // Versions (contract §2): a changed or new account gets a version from this load, an omitted one
    // an end; one saved before versions were kept first gets its stored content as a version from 0.
    const oldById = new Map(oldAccounts.map((o) => [o.accountId, o]));
    const versionItems: Record<string, unknown>[] = [];
    const latestVersion = new Map<string, string>();
    const versionOf = (accountId: string, from: number, accountJson: string, tariffRev?: string) => {
      const item = accountVersionItem.item({ accountId, from, accountJson, tariffRev });
      versionItems.push(item);
      latestVersion.set(accountId, String(item.sk));
    };
    for (const a of config.accounts) {
      const old = oldById.get(a.accountId);
      const json = JSON.stringify(a);
      const rev = tariffRevisions.get(a.tariffId);
      if (old && old.version === undefined) versionOf(a.accountId, 0, old.accountJson, old.tariffRev);
      // Tariff content is effective-dated by itself (G8) and stays current (a rate added for suspense
      // re-rates closed periods, G10): only a change of the account's own entry is a new version.
      if (!old || old.accountJson !== json) versionOf(a.accountId, at, json, rev);
      else if (old.version !== undefined) latestVersion.set(a.accountId, old.version);
    }
    const kept = new Set(config.accounts.map((a) => a.accountId));
    const endedAccounts: { accountId: string; timezone: string }[] = [];
    for (const old of oldAccounts) {
      const { accountId } = old;
      if (kept.has(accountId)) continue;
      if (old.version === undefined) versionOf(accountId, 0, old.accountJson, old.tariffRev);
      versionItems.push(accountEndItem.item({ accountId, at }));
      endedAccounts.push({ accountId, timezone: (JSON.parse(old.accountJson) as Account).timezone });
    }
    // Every tariff content ever loaded stays readable by revision: an account's older versions name it.
    const revisionItems = [
      ...oldTariffs.map((t) => t.tariffJson),
      ...config.tariffs.map((t) => JSON.stringify(t)),
    ].map((tariffJson) =>
      tariffRevisionItem.item({
        tariffId: (JSON.parse(tariffJson) as Tariff).tariffId,
        rev: revisionOf(tariffJson),
        tariffJson,
      }),
    );
    const puts: Record<string, unknown>[] = [
      ...config.tariffs.map((t, position) =>
        tariffItem.item({ tariffId: t.tariffId, position, tariffJson: JSON.stringify(t) }),
      ),
      // Each account names the revision of its tariff: readers cache tariffs by revision (never stale).
      ...config.accounts.map((a, position) =>
        accountItem.item({
          accountId: a.accountId,
          position,
          accountJson: JSON.stringify(a),
          tariffRev: tariffRevisions.get(a.tariffId),
          version: latestVersion.get(a.accountId),
        }),
      ),
      ...config.accounts.map((a) => zoneAccountItem.item({ zone: a.timezone, accountId: a.accountId })),
      ...zones.map((zone) => zoneItem.item({ zone })),
    ];
    const keep = new Set(puts.map((p) => compositeKey(p.pk, p.sk)));
    const deletes = [
      ...oldAccounts.map((o) => accountItem.key(o)),
      ...oldTariffs.map((o) => tariffItem.key(o)),
      ...oldInZone,
      ...oldZones,
    ]
      .filter((o) => !keep.has(compositeKey(o.pk, o.sk)))
      .map((o) => ({ DeleteRequest: { Key: { pk: o.pk, sk: o.sk } } }));
    // Versions and revisions first: an account item never names a version that is not stored yet.
    const distinct = new Map(
      [...versionItems, ...revisionItems].map((i) => [compositeKey(i.pk, i.sk), i] as const),
    );
    await this.batchWrite([...distinct.values()].map((Item) => ({ PutRequest: { Item } })));
    await this.batchWrite([...puts.map((Item) => ({ PutRequest: { Item } })), ...deletes]);
    // The period that contains an account's end is still closed in full (contract §2), with or without
    // usage in it: once the zone fan-out no longer lists the account, the unclosed index names it for
    // the scheduler. A conditional put: an entry there already (usage, a suspension) is kept as it is.
    await mapLimit(endedAccounts, 8, async ({ accountId, timezone }) => {
      const period = periodOf(at, timezone);
      await putUnclosedIfAbsent(this.doc, this.table, {
        accountId,
        period,
        end: periodWindow(period, timezone).end,
      });
    });
  }

  private async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let pending: typeof requests | undefined = requests.slice(i, i + 25);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        const r = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = r.UnprocessedItems?.[this.table] as typeof requests | undefined;
        if (pending?.length) await new Promise((res) => setTimeout(res, Math.min(1000, 20 * 2 ** attempt)));
      }
    }
  }

  /**
   * The account and the revision of its tariff written with it (none on items saved before tariff
   * revisions were recorded).
   */
  async getAccountEntry(accountId: string): Promise<{ account: Account; tariffRev?: string } | undefined> {
    // An id longer than a sort key can be (1,024 bytes) names no account: no request for it.
    const r =
      Buffer.byteLength(accountId) <= 1024
        ? await this.doc.send(new GetCommand({ TableName: this.table, Key: accountItem.key({ accountId }) }))
        : { Item: undefined };
    if (r.Item) {
      const { accountJson, tariffRev } = accountItem.decode(r.Item);
      return {
        account: JSON.parse(accountJson) as Account,
        ...(tariffRev !== undefined ? { tariffRev } : {}),
      };
    }
    // Unknown account, or nothing configured at all (then not transient: NoConfigurationError).
    const any = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": ACCOUNTS_PK },
        Limit: 1,
      }),
    );
    if ((any.Items ?? []).length === 0) throw new NoConfigurationError();
    return undefined;
  }

  /**
   * The account's stored versions and end (contract §2), oldest first: one Query of its own
   * partition (one small item per load that changed it). Empty for an account never versioned.
   */
  async accountVersions(accountId: string): Promise<StoredVersions> {
    if (Buffer.byteLength(accountId) > 1000) return { versions: [] };
    const items = await this.partition(accountHistoryPk(accountId));
    items.sort((a, b) => (String(a.sk) < String(b.sk) ? -1 : 1));
    const versions: StoredVersions["versions"][number][] = [];
    let endedAt: number | undefined;
    for (const i of items) {
      if (isAccountEnd(i.sk)) {
        endedAt = accountEndItem.decode(i).at;
        continue;
      }
      // A version after an end: the account was loaded again, so it is no longer ended.
      endedAt = undefined;
      const { from, accountJson, tariffRev } = accountVersionItem.decode(i);
      versions.push({
        from,
        account: JSON.parse(accountJson) as Account,
        ...(tariffRev !== undefined ? { tariffRev } : {}),
      });
    }
    return { versions, ...(endedAt !== undefined ? { endedAt } : {}) };
  }

  /** A tariff by the revision an account version names (kept by saveConfig); else the current item. */
  async getTariffRevision(tariffId: string, rev: string | undefined): Promise<Tariff | undefined> {
    if (rev !== undefined) {
      const r = await this.doc.send(
        new GetCommand({ TableName: this.table, Key: tariffRevisionItem.key({ tariffId, rev }) }),
      );
      if (r.Item) return JSON.parse(tariffRevisionItem.decode(r.Item).tariffJson) as Tariff;
    }
    return this.getTariff(tariffId);
  }

  async getTariff(tariffId: string): Promise<Tariff | undefined> {
    return (await this.getTariffEntry(tariffId))?.tariff;
  }

  /** The tariff and its revision (the hash of the item's JSON, as saveConfig writes it on accounts). */
  async getTariffEntry(tariffId: string): Promise<{ tariff: Tariff; rev: string } | undefined> {
    const r = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: tariffItem.key({ tariffId }) }),
    );
    if (!r.Item) return undefined;
    const json = tariffItem.decode(r.Item).tariffJson;
    return { tariff: JSON.parse(json) as Tariff, rev: revisionOf(json) };
  }
}

/** A tariff's revision: the SHA-256 of its stored JSON (16 bytes, hex). */
const revisionOf = (json: string) => createHash("sha256").update(json).digest("hex").slice(0, 32);

/**
 * O(1) account lookup for ingest, cached per container for `ttlMs` of the clock (bounded
 * staleness: a changed account or tariff reaches a warm Lambda within it; 0 = read every batch).
 * Eventually consistent reads (half the read units): the staleness bound already allows it.
 * Whatever `ttlMs`, a tariff is also kept by the revision its accounts name (content-addressed,
 * so never stale): the close worker (ttl 0) reads each account but not its tariff again.
 */
export function cachedAccountDirectory(
  store: DynamoConfigStore,
  clock: Clock,
  ttlMs: number,
): AccountDirectory {
  const accounts = new Map<
    string,
    { at: number; v: Promise<{ account: Account; tariffRev?: string } | undefined> }
  >();
  const tariffs = new Map<string, { at: number; v: Promise<Tariff | undefined> }>();
  const fresh = (at: number, now: number) => ttlMs > 0 && now >= at && now - at <= ttlMs;
  function cached<T>(
    m: Map<string, { at: number; v: Promise<T> }>,
    k: string,
    load: () => Promise<T>,
    now: number,
  ) {
    const hit = m.get(k);
    if (hit && fresh(hit.at, now)) return hit.v;
    const v = load();
    m.set(k, { at: now, v });
    v.catch(() => m.delete(k));
    if (m.size > 200_000) m.clear(); // bounded memory: far above a container's working set
    return v;
  }
  const byRevision = new Map<string, Tariff>();
  async function tariffAt(tariffId: string, rev: string): Promise<Tariff | undefined> {
    const key = compositeKey(tariffId, rev);
    const hit = byRevision.get(key);
    if (hit) return hit;
    const read = await store.getTariffEntry(tariffId);
    // Kept only when the item read is the revision the account names: while a configuration is
    // being saved, the account may be newer than its tariff's item (or older): then it is read again.
    if (read?.rev === rev) {
      if (byRevision.size >= 1_000) byRevision.clear(); // bounded: far above the tariffs in use
      byRevision.set(key, read.tariff);
    }
    return read?.tariff;
  }
  const histories = new Map<string, { at: number; v: Promise<StoredVersions> }>();
  /** The current tariff of an id (the item, else the revision a version named: a removed tariff). */
  const tariffOf = async (tariffId: string, rev: string | undefined, now: number) =>
    (await cached(tariffs, tariffId, () => store.getTariff(tariffId), now)) ??
    (rev !== undefined ? await store.getTariffRevision(tariffId, rev) : undefined);
  return {
    async lookup(accountId: string, batchCache?: Map<string, Promise<RatedAccount | undefined>>) {
      const once = batchCache?.get(accountId);
      if (once) return once;
      const now = clock.now();
      const v = (async (): Promise<RatedAccount | undefined> => {
        const [entry, stored] = await Promise.all([
          cached(accounts, accountId, () => store.getAccountEntry(accountId), now),
          cached(histories, accountId, () => store.accountVersions(accountId), now),
        ]);
        let current: RatedAccount | undefined;
        if (entry) {
          const { account, tariffRev } = entry;
          const tariff =
            tariffRev !== undefined
              ? await tariffAt(account.tariffId, tariffRev)
              : await cached(tariffs, account.tariffId, () => store.getTariff(account.tariffId), now);
          if (!tariff) return undefined;
          current = { account, tariff };
        }
        // Versions (contract §2): an ended account keeps them; one saved before them has its item.
        const versions: AccountVersion[] = [];
        for (const sv of stored.versions) {
          const tariff =
            current && sv.account.tariffId === current.account.tariffId
              ? current.tariff
              : await tariffOf(sv.account.tariffId, sv.tariffRev, now);
          if (!tariff) return undefined;
          versions.push({ from: sv.from, account: sv.account, tariff });
        }
        if (versions.length === 0) {
          if (!current) return undefined;
          versions.push({ from: 0, ...current });
        }
        const history: AccountHistory = {
          accountId,
          versions,
          ...(!current && stored.endedAt !== undefined ? { endedAt: stored.endedAt } : {}),
        };
        const last = versions.at(-1)!;
        return { ...(current ?? { account: last.account, tariff: last.tariff }), history };
      })();
      batchCache?.set(accountId, v);
      return v;
    },
  };
}
