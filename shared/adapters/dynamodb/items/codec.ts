/**
 * One codec per item kind: the only place that knows how a kind is keyed and what its stored
 * attributes are called. Stores, loaders, benchmarks and tests read and write the kind's named
 * fields through it; the stored names stay short where they always were (bytes are billed), and
 * the bytes written are the same as before codecs (same keys, names and attribute types).
 *
 * A codec serves both DynamoDB clients: the document client (plain values) and the low-level
 * client (AttributeValue), which the usage store uses for exact decimals and PartiQL. How to write
 * one: README.md beside this file.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { avItemBytes, ItemTooLargeError, itemBytes } from "../item-size.js";

/** The largest key DynamoDB takes (partition 2,048 bytes, sort 1,024) with its attribute names. */
export const MAX_KEY_BYTES = 2_048 + 1_024 + 4;

export interface Key {
  readonly pk: string;
  readonly sk: string;
}
/** An item as the document client reads and writes it. */
export type DocItem = Record<string, unknown>;
/** An item as the low-level client reads and writes it. */
export type AvItem = Record<string, AttributeValue>;

/** How one field is stored: its attribute's name and its value in each client's form. */
export interface Attr<T, O extends boolean = boolean> {
  readonly name: string;
  readonly optional: O;
  toDoc(v: T): unknown;
  fromDoc(v: unknown): T;
  toAv(v: T): AttributeValue;
  fromAv(v: AttributeValue | undefined): T;
}

/** A field stored in a way of its own (its conversions both ways, in each client's form). */
export const custom = <T>(
  name: string,
  doc: { to: (v: T) => unknown; from: (v: unknown) => T },
  av: { to: (v: T) => AttributeValue; from: (v: AttributeValue | undefined) => T },
): Attr<T, false> => ({
  name,
  optional: false,
  toDoc: doc.to,
  fromDoc: doc.from,
  toAv: av.to,
  fromAv: av.from,
});

const same = <T>(v: T) => v;

/** A string (S); `T` narrows it to the words the field takes. */
export const str = <T extends string = string>(name: string) =>
  custom<T>(
    name,
    { to: same, from: (v) => String(v) as T },
    { to: (S) => ({ S }), from: (v) => String(v?.S) as T },
  );

/** A number (N). */
export const num = (name: string) =>
  custom<number>(
    name,
    { to: same, from: (v) => Number(v) },
    { to: (v) => ({ N: String(v) }), from: (v) => Number(v?.N) },
  );

/**
 * An exact decimal kept as its string (N: DynamoDB keeps 38 digits). Low-level client only: the
 * document client reads numbers as JavaScript numbers.
 */
export const decimal = (name: string) =>
  custom<string>(
    name,
    {
      to: () => {
        throw new Error(`${name}: decimals are read and written with the low-level client`);
      },
      from: (v) => String(v),
    },
    { to: (N) => ({ N }), from: (v) => String(v?.N) },
  );

/** A boolean (BOOL). */
export const bool = (name: string) =>
  custom<boolean>(
    name,
    { to: same, from: (v) => v === true },
    { to: (BOOL) => ({ BOOL }), from: (v) => v?.BOOL === true },
  );

/** Binary (B): compressed payloads. */
export const bytes = (name: string) =>
  custom<Uint8Array>(
    name,
    { to: same, from: (v) => v as Uint8Array },
    { to: (B) => ({ B }), from: (v) => v?.B as Uint8Array },
  );

/** A value kept as its JSON text (S). */
export const json = <T>(name: string) =>
  custom<T>(
    name,
    { to: (v) => JSON.stringify(v), from: (v) => JSON.parse(String(v)) as T },
    { to: (v) => ({ S: JSON.stringify(v) }), from: (v) => JSON.parse(String(v?.S)) as T },
  );

/** A list of strings (L of S). */
export const strList = (name: string) =>
  custom<string[]>(
    name,
    { to: (v) => [...v], from: (v) => (Array.isArray(v) ? v.map(String) : []) },
    { to: (v) => ({ L: v.map((S) => ({ S })) }), from: (v) => (v?.L ?? []).map((x) => String(x.S)) },
  );

/** A set of numbers (NS; never empty: DynamoDB stores no empty set). */
export const numSet = (name: string) =>
  custom<number[]>(
    name,
    {
      to: (v) => new Set(v),
      from: (v) => (v instanceof Set ? [...v].map(Number) : []).sort((a, b) => a - b),
    },
    { to: (v) => ({ NS: v.map(String) }), from: (v) => (v?.NS ?? []).map(Number).sort((a, b) => a - b) },
  );

/** A JSON-shaped object kept as a map (M): strings, numbers, booleans, lists and maps. */
export const map = <T>(name: string) =>
  custom<T>(name, { to: same, from: (v) => v as T }, { to: (v) => toAv(v), from: (v) => fromAv(v) as T });

function toAv(v: unknown): AttributeValue {
  if (typeof v === "string") return { S: v };
  if (typeof v === "number") return { N: String(v) };
  if (typeof v === "boolean") return { BOOL: v };
  if (v === null) return { NULL: true };
  if (Array.isArray(v)) return { L: v.map(toAv) };
  if (typeof v === "object")
    return {
      M: Object.fromEntries(
        Object.entries(v as object)
          .filter(([, x]) => x !== undefined)
          .map(([k, x]) => [k, toAv(x)]),
      ),
    };
  throw new TypeError(`no DynamoDB form for ${typeof v}`);
}

function fromAv(v: AttributeValue | undefined): unknown {
  if (v === undefined) return undefined;
  if (v.S !== undefined) return v.S;
  if (v.N !== undefined) return Number(v.N);
  if (v.BOOL !== undefined) return v.BOOL;
  if (v.L) return v.L.map(fromAv);
  if (v.M) return Object.fromEntries(Object.entries(v.M).map(([k, x]) => [k, fromAv(x)]));
  return null;
}

/** The field may be absent: not written when undefined, undefined when not stored. */
export const opt = <T>(a: Attr<T, false>): Attr<T, true> => ({
  ...a,
  optional: true,
  fromDoc: (v) => (v === undefined ? (undefined as T) : a.fromDoc(v)),
  fromAv: (v) => (v === undefined ? (undefined as T) : a.fromAv(v)),
});

/** The field may be absent from items written before it existed: read as `absent` then. */
export const orElse = <T>(a: Attr<T, false>, absent: T): Attr<T, false> => ({
  ...a,
  fromDoc: (v) => (v === undefined ? absent : a.fromDoc(v)),
  fromAv: (v) => (v === undefined ? absent : a.fromAv(v)),
});

// biome-ignore lint/suspicious/noExplicitAny: any attribute, whatever its value type
type Fields = Record<string, Attr<any>>;
type ValueOf<A> = A extends Attr<infer T> ? T : never;
type RequiredFields<S extends Fields> = {
  [F in keyof S as S[F]["optional"] extends true ? never : F]: ValueOf<S[F]>;
};
type OptionalFields<S extends Fields> = {
  [F in keyof S as S[F]["optional"] extends true ? F : never]?: ValueOf<S[F]>;
};
/** The named fields of a kind, as its codec decodes them. */
export type FieldsOf<S extends Fields> = RequiredFields<S> & OptionalFields<S>;
/** The fields of an item kind (`FieldsOf<typeof codec.fields>`). */
export type ItemFields<C> = C extends ItemCodec<infer _K, infer S> ? FieldsOf<S> : never;

export interface ItemCodec<K, S extends Fields> {
  /** What the item is, in error messages ("dead letter"). */
  readonly kind: string;
  readonly fields: S;
  /** The bound on one stored item: key, names and values, in UTF-8 bytes (item-size.ts). */
  readonly maxBytes: number;
  key(k: K): Key;
  /** The stored attributes of these fields (no key); undefined optional fields are left out. */
  encode(f: Partial<FieldsOf<S>>): DocItem;
  /** Key and attributes, checked against maxBytes: what a Put writes. */
  item(f: K & FieldsOf<S>): DocItem;
  /** The named fields of a stored item (or of the part of it a projection read). */
  decode(i: DocItem): FieldsOf<S>;
  /**
   * `#field` → stored name, for the ExpressionAttributeNames of the fields an expression names
   * (expressions say `#field`, never a stored name).
   */
  names(...fields: (keyof S & string)[]): Record<string, string>;
  /** `:field` → stored value, for the ExpressionAttributeValues of these fields. */
  values(f: Partial<FieldsOf<S>>): Record<string, unknown>;
  /** `#a = :a, #b = :b`: the assignments of an update's SET clause, for these fields. */
  assign(...fields: (keyof S & string)[]): string;
  /** The ProjectionExpression and names that read these fields (and the key). */
  projection(...fields: (keyof S & string)[]): {
    ProjectionExpression: string;
    ExpressionAttributeNames: Record<string, string>;
  };
  /** The same, for the low-level client. */
  readonly av: {
    key(k: K): AvItem;
    encode(f: Partial<FieldsOf<S>>): AvItem;
    item(f: K & FieldsOf<S>): AvItem;
    decode(i: AvItem): FieldsOf<S>;
    values(f: Partial<FieldsOf<S>>): Record<string, AttributeValue>;
  };
}

/**
 * A codec from the kind's key builder and fields. `maxBytes` defaults to DynamoDB's 400 KB limit:
 * give the kind's own bound where its fields are bounded.
 */
export function itemCodec<K, S extends Fields>(def: {
  kind: string;
  key: (k: K) => Key;
  fields: S;
  maxBytes: number;
}): ItemCodec<K, S> {
  const entries = Object.entries(def.fields);
  const fieldOf = (f: string) => {
    const a = def.fields[f];
    if (!a) throw new Error(`${def.kind} has no field ${f}`);
    return a;
  };
  const present = (f: Partial<FieldsOf<S>>) =>
    entries.filter(([n]) => (f as Record<string, unknown>)[n] !== undefined);
  const get = (f: Partial<FieldsOf<S>>, n: string) => (f as Record<string, unknown>)[n];
  const checked = <I>(item: I, size: (i: I) => number, key: Key): I => {
    const n = size(item);
    if (n > def.maxBytes) throw new ItemTooLargeError(`${def.kind} ${key.pk} ${key.sk}`, n, def.maxBytes);
    return item;
  };
  const encode = (f: Partial<FieldsOf<S>>): DocItem =>
    Object.fromEntries(present(f).map(([n, a]) => [a.name, a.toDoc(get(f, n))]));
  const avEncode = (f: Partial<FieldsOf<S>>): AvItem =>
    Object.fromEntries(present(f).map(([n, a]) => [a.name, a.toAv(get(f, n))]));
  const avKey = (k: K): AvItem => {
    const { pk, sk } = def.key(k);
    return { pk: { S: pk }, sk: { S: sk } };
  };
  /** The fields read from an item, each by `read`; those absent (undefined) left out. */
  // biome-ignore lint/suspicious/noExplicitAny: any attribute, whatever its value type
  const decodeBy = (read: (a: Attr<any>) => unknown) =>
    Object.fromEntries(
      entries.flatMap(([n, a]) => {
        const v = read(a);
        return v === undefined ? [] : [[n, v]];
      }),
    ) as FieldsOf<S>;
  return {
    kind: def.kind,
    fields: def.fields,
    maxBytes: def.maxBytes,
    key: def.key,
    encode,
    item: (f) => {
      const key = def.key(f);
      return checked({ pk: key.pk, sk: key.sk, ...encode(f) }, itemBytes, key);
    },
    decode: (i) => decodeBy((a) => a.fromDoc(i[a.name])),
    names: (...fields) => Object.fromEntries(fields.map((f) => [`#${f}`, fieldOf(f).name])),
    values: (f) => Object.fromEntries(present(f).map(([n, a]) => [`:${n}`, a.toDoc(get(f, n))])),
    assign: (...fields) => fields.map((f) => `#${f} = :${f}`).join(", "),
    projection: (...fields) => ({
      ProjectionExpression: ["pk", "sk", ...fields.map((f) => `#${f}`)].join(", "),
      ExpressionAttributeNames: Object.fromEntries(fields.map((f) => [`#${f}`, fieldOf(f).name])),
    }),
    av: {
      key: avKey,
      encode: avEncode,
      item: (f) => checked({ ...avKey(f), ...avEncode(f) }, avItemBytes, def.key(f)),
      decode: (i) => decodeBy((a) => a.fromAv(i[a.name])),
      values: (f) => Object.fromEntries(present(f).map(([n, a]) => [`:${n}`, a.toAv(get(f, n))])),
    },
  };
}
