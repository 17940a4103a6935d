// Wire schemas of every storage RPC. A body that fails its schema never reaches a handler (MethodTable).
import * as v from 'valibot';
import type { DataRecord } from './records.ts';

export const M = {
  put: 'storage.put',
  get: 'storage.get',
  cas: 'storage.cas',
  offer: 'storage.offer',
  push: 'storage.push',
  fetch: 'storage.fetch',
  sync: 'storage.sync',
} as const;

/** Items per offer / fetch / push message; bounds the work one request can ask for. */
export const MAX_BATCH = 1000;
export const BUCKETS = 64;

const IdS = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
const Bytes = v.instance(Uint8Array);
const Count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const Digest = v.pipe(v.string(), v.regex(/^[0-9a-f]{16}$/));
const RSchema = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(32));

export const RecordSchema = v.variant('kind', [
  v.strictObject({ kind: v.literal('immutable'), key: IdS, value: Bytes }),
  v.strictObject({
    kind: v.literal('signed'), key: IdS, publicKey: v.pipe(Bytes, v.maxLength(64)),
    name: v.pipe(v.string(), v.maxLength(1024)), seq: Count, value: Bytes, signature: v.pipe(Bytes, v.maxLength(128)),
  }),
  v.strictObject({ kind: v.literal('versioned'), key: IdS, counter: Count, writer: IdS, value: v.nullable(Bytes) }),
]) as v.GenericSchema<unknown, DataRecord>;

/** [rank, n, writer, digest] — see records.ts Stamp. */
export const StampSchema = v.tuple([
  v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3)),
  Count,
  v.union([v.literal(''), IdS]),
  Digest,
]);

const VersionSchema = v.strictObject({ counter: Count, writer: IdS });

export const PutBody = v.strictObject({
  record: RecordSchema,
  owner: v.optional(IdS),
  /**
   * The receiver is a spare standing in for a holder that failed this write (see Quorum.cover): it hands
   * the record to the holders and drops it once they all confirmed, and does not keep it as an extra.
   */
  cover: v.optional(v.literal(true)),
});
export const GetBody = v.strictObject({ key: IdS });
export const CasBody = v.strictObject({ key: IdS, expected: v.nullable(VersionSchema), value: Bytes });
export const OfferBody = v.strictObject({
  items: v.pipe(v.array(v.strictObject({ key: IdS, stamp: StampSchema })), v.maxLength(MAX_BATCH)),
  /** The sender is leaving: it no longer counts as a holder (the receiver may take its place). */
  leaving: v.optional(v.literal(true)),
  /**
   * An anti-entropy offer: the receiver takes a key it lacks only if it is a holder in its own view, and
   * a newer version of a copy it keeps (see takesOffer in acceptance.ts), not what it would merely accept
   * within the slack ranks. Where two views differed on who is the r-th holder, the slack made a key go
   * to the node every round and be dropped again.
   */
  sync: v.optional(v.literal(true)),
  /** The sender's own replication target (replication-policy.ts). */
  r: v.optional(RSchema),
  /** The sender's join is not done: its view of who holds a key is partial (see acceptance.ts). */
  joining: v.optional(v.literal(true)),
});
export const PushBody = v.strictObject({
  items: v.pipe(v.array(v.strictObject({ record: RecordSchema, owner: v.optional(IdS) })), v.maxLength(MAX_BATCH)),
});
export const FetchBody = v.strictObject({ keys: v.pipe(v.array(IdS), v.maxLength(MAX_BATCH)) });
export const SyncBody = v.strictObject({
  buckets: v.pipe(v.array(v.union([v.literal(''), Digest])), v.length(BUCKETS)),
  r: v.optional(RSchema),
});

// Replies (checked by the caller: a peer's reply is input too).
export const PutReply = v.object({ ok: v.literal(true) });
export const GetReply = v.object({ record: v.nullable(RecordSchema), owner: v.optional(IdS) });
export const CasReply = v.object({
  ok: v.boolean(),
  version: v.nullable(VersionSchema),
  value: v.nullable(Bytes),
});
export const OfferReply = v.object({
  want: v.array(IdS),
  have: v.array(IdS),
  pending: v.array(IdS),
  refused: v.array(IdS),
  /** The replier's own replication target: a former holder about to drop a copy learns a higher r. */
  r: v.optional(RSchema),
});
export const PushReply = v.object({
  held: v.array(IdS),
  refused: v.array(v.object({ key: IdS, code: v.string() })),
});
export const FetchReply = v.object({
  /** How many of the requested keys were handled (a prefix; the rest did not fit). */
  done: Count,
  items: v.array(v.object({ record: RecordSchema, owner: v.optional(IdS) })),
});
export const SyncReply = v.object({
  r: v.optional(RSchema),
  diff: v.array(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(BUCKETS - 1))),
  items: v.array(v.object({ key: IdS, stamp: StampSchema })),
});

export type OfferItem = v.InferOutput<typeof OfferBody>['items'][number];
export type OfferResult = v.InferOutput<typeof OfferReply>;
export type PushResult = v.InferOutput<typeof PushReply>;
export type SyncResult = v.InferOutput<typeof SyncReply>;
