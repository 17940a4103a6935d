// Schemas of every overlay message: what fails them is dropped and counted at the edge.
import * as v from 'valibot';
import { isId, type Id } from '../core/id.ts';
import type { SignalEnvelope } from '../transport/link.ts';

export const MAX_HOPS_LIMIT = 64;
const MAX_METHOD = 64;
/** Silent nodes a routed message carries at most (what one message may make its hops avoid). */
export const MAX_SKIP = 8;

export const idSchema = v.custom<Id>(isId, 'not an id');
const idList = v.pipe(v.array(idSchema), v.maxLength(64));
const bytes = v.instance(Uint8Array);

/** A message routed towards `key`; each hop checks it and forwards it to a closer node. */
export const RouteMessage = v.object({
  key: idSchema,
  method: v.pipe(v.string(), v.maxLength(MAX_METHOD)),
  body: v.unknown(),
  origin: idSchema,
  /** Hops taken so far, counting the one that brought it here (so at least 1 on arrival). */
  hops: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_HOPS_LIMIT)),
  maxHops: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_HOPS_LIMIT)),
  /** Milliseconds left for the rest of the trip. */
  ttl: v.pipe(v.number(), v.minValue(0), v.maxValue(120_000)),
  /** A node that must not be chosen as next hop nor as destination (a joining node looking itself up). */
  avoid: v.optional(idSchema),
  /**
   * Nodes that an earlier hop found silent (no acknowledgement): later hops pass over them instead of
   * each waiting out the same dead node, and check their own link to them at once.
   */
  skip: v.optional(v.pipe(v.array(idSchema), v.maxLength(MAX_SKIP))),
  /** Set by the sending hop: the receiver acknowledges unless it answers first, so a dead hop is passed over quickly. */
  nonce: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
});
export type RouteMessage = v.InferOutput<typeof RouteMessage>;

export const RouteReply = v.variant('ok', [
  v.object({ ok: v.literal(true), reply: v.unknown(), path: idList }),
  v.object({ ok: v.literal(false), code: v.pipe(v.string(), v.maxLength(32)), message: v.pipe(v.string(), v.maxLength(500)), path: idList }),
]);
export type RouteReply = v.InferOutput<typeof RouteReply>;

export const SignalEnvelopeSchema = v.object({
  from: idSchema,
  to: idSchema,
  publicKey: bytes,
  token: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  kind: v.picklist(['offer', 'answer']),
  fingerprint: v.pipe(v.string(), v.maxLength(256)),
  payload: v.unknown(),
  time: v.pipe(v.number(), v.finite()),
  signature: v.pipe(bytes, v.maxLength(256)),
}) as v.GenericSchema<unknown, SignalEnvelope>;

/** Body of the routed `ov.signal`: the signed offer, and whether the offerer wants us as a neighbour. */
/** `ready`: the offerer has joined (so the link needs no `ov.readyn` from it). */
export const SignalRequest = v.object({ offer: SignalEnvelopeSchema, neighbour: v.boolean(), ready: v.optional(v.boolean()) });
/**
 * Reply to `ov.signal`: the signed answer, whether the answerer has joined, and whether it needs the link
 * itself (absent: it does). An answerer that takes a link only because the offerer wants it says so here
 * rather than in an `ov.need` frame at its next maintenance round.
 */
export const SignalAnswer = v.object({ answer: SignalEnvelopeSchema, ready: v.boolean(), need: v.optional(v.boolean()) });
export type SignalAnswer = v.InferOutput<typeof SignalAnswer>;

/** Body of the routed `ov.closest` and `ov.join` requests. */
export const ClosestRequest = v.object({ n: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64)) });
export const ClosestReply = v.object({ closest: idList });
export type ClosestReply = v.InferOutput<typeof ClosestReply>;

export const Empty = v.union([v.null(), v.undefined(), v.object({})]);
/** Body of `ov.ready`: the joiner's closest links (its neighbours need not be introduced to it). */
export const ReadyBody = v.union([v.object({ neighbours: v.optional(idList) }), v.null(), v.undefined()]);
/** The pinged node's link count (or nothing, from an older node); a plain check, see PingBody. */
export const PingReply = v.custom<number | null | undefined>((x) => x === null || x === undefined || typeof x === 'number', 'not a link count');
/**
 * Body of `ov.ping`: the pinger's round trip on this link in whole ms, if it has one (so the pinged end
 * knows it too), else nothing. One check, not a union: a union builds an issue, with its message, for
 * each option that fails, and every idle link carries a ping every few seconds.
 */
export const MAX_PING_RTT_MS = 120_000;
export const PingBody = v.custom<number | null | undefined>(
  (x) => x === null || x === undefined || (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= MAX_PING_RTT_MS),
  'not a round trip in ms',
);

/** Direct: ask a peer whether it can still reach `target` (the second opinion before declaring death). */
export const ProbeRequest = v.object({ target: idSchema });
export const ProbeReply = v.object({ alive: v.nullable(v.boolean()) });

/** Direct: a peer's own neighbourhood, exchanged in maintenance. */
export const NeighboursReply = v.object({ ids: idList });

/** Notify: a hop received the routed message with this nonce (sent before it forwards or answers). */
export const RouteAck = v.object({ nonce: v.pipe(v.number(), v.integer(), v.minValue(0)) });

/** Direct: the sender's linked nodes closest to `key` (the asker's own id, in stabilization). */
export const NearRequest = v.object({ key: idSchema, n: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(32)) });

/** Notify: nodes the sender is linked to and that may belong to the receiver's neighbourhood. */
export const IntroduceNotice = v.object({ ids: v.pipe(v.array(idSchema), v.maxLength(16)) });

/** Notify: whether the sender needs this link for its own table (links nobody needs are trimmed). */
export const NeedNotice = v.object({ need: v.boolean() });

/** Notify: a peer leaves on purpose, and names nodes that can take over its links. */
export const LeaveNotice = v.object({ neighbours: idList });

export const METHOD = {
  route: 'ov.route',
  ping: 'ov.ping',
  probe: 'ov.probe',
  neighbours: 'ov.neighbours',
  peers: 'ov.peers',
  leave: 'ov.leave',
  need: 'ov.need',
  near: 'ov.near',
  routeAck: 'ov.ack',
  introduce: 'ov.introduce',
  /** Direct: the sender has joined and may now be responsible for keys (a hop target); answered at once. */
  ready: 'ov.ready',
  /** Notify: the same, for a link taken after the join (nobody waits for it). */
  readyNotice: 'ov.readyn',
  // Routed (delivered at the node responsible for the key):
  join: 'ov.join',
  closest: 'ov.closest',
  signal: 'ov.signal',
} as const;
