// Broadcast to every node of the room through the overlay, as a tree over the Kademlia buckets
// (El-Ansary et al.): a node that got a message with limit L sends it to linked nodes in each of its
// buckets b >= L, with limit b + 1, so each subtree of the id space is covered by the node sent into
// it. Two nodes per bucket instead of one, with duplicates dropped, so that one dead link does not cut
// a subtree off; the cost stays below 2N messages per broadcast.
//
// A broadcast passes through every node, so its origin signs it (id, topic, payload, time): no node can
// speak for another (a chat message in someone else's name) or play an old broadcast again once it has
// left the time window, and within the window the id is remembered. A forged or stale one is dropped,
// counted, and not forwarded.
import * as v from 'valibot';
import type { Clock } from '../core/clock.ts';
import { encode } from '../core/codec.ts';
import type { Counters } from '../core/counters.ts';
import { Emitter } from '../core/emitter.ts';
import { isId, sameBytes, type Id } from '../core/id.ts';
import type { Identity, SignatureScheme } from '../core/identity.ts';
import type { Rng } from '../core/rng.ts';
import { SelfmeshError } from '../core/errors.ts';
import { TokenBucket } from '../core/token-bucket.ts';
import type { Overlay } from '../overlay/overlay.ts';

export const BROADCAST = 'node.broadcast';
const REDUNDANCY = 2;
/** A broadcast whose time is further than this from the receiver's clock is dropped (stale). */
export const BROADCAST_MAX_SKEW_MS = 2 * 60_000;
/**
 * Ids remembered at most. Entries go once a replay of them would be stale anyway; past this many within
 * that time (a flood), the oldest go first.
 */
const SEEN_MAX = 16_384;
const PRUNE_EVERY_MS = 1_000;
/**
 * Broadcasts one origin may send, in a burst and then per second: a chat sending a message every 40 ms
 * is well inside; a component broadcasting in a loop is cut off at the first hop, not carried to every
 * node of the room.
 */
export const BROADCAST_BURST = 200;
export const BROADCASTS_PER_SECOND = 50;
/** Origins with a bucket at once; past this, full buckets (origins quiet for a while) are forgotten. */
const BUCKETS_MAX = 1_024;
/** Copies being checked at once (distinct ones: a copy equal to one being checked is a duplicate). */
const VERIFYING_MAX = 1_024;

const BroadcastMessage = v.object({
  id: v.pipe(v.string(), v.regex(/^[0-9a-f]{16,32}$/)),
  origin: v.custom<Id>(isId),
  topic: v.pipe(v.string(), v.maxLength(128)),
  limit: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(256)),
  payload: v.unknown(),
  time: v.number(),
  publicKey: v.pipe(v.instance(Uint8Array), v.length(32)),
  signature: v.pipe(v.instance(Uint8Array), v.maxLength(128)),
});
/** A broadcast as sent or accepted (its binary fields of any buffer). */
type BroadcastMessage = Omit<v.InferOutput<typeof BroadcastMessage>, 'publicKey' | 'signature'> & { publicKey: Uint8Array; signature: Uint8Array };

export interface BroadcastEvent {
  id: string;
  origin: Id;
  topic: string;
  payload: unknown;
  at: number;
}

/** What the origin signs: everything but `limit`, which each forwarding node sets. */
function signedBytes(msg: Pick<BroadcastMessage, 'id' | 'origin' | 'topic' | 'payload' | 'time'>): Uint8Array {
  return encode(['selfmesh/broadcast/1', msg.id, msg.origin, msg.topic, msg.payload, msg.time]);
}

export class Broadcaster {
  readonly events = new Emitter<{ message: BroadcastEvent }>();
  /** Broadcast id -> when this node first accepted it. */
  private readonly seen = new Map<string, number>();
  private prunedAt = -Infinity;
  /** Copies whose signature is being checked off the main thread, by broadcast id. */
  private readonly verifying = new Map<string, Array<{ bytes: Uint8Array; signature: Uint8Array }>>();
  private verifyingCount = 0;
  private readonly rates = new Map<Id, TokenBucket>();

  constructor(
    private readonly overlay: Overlay,
    private readonly identity: Identity,
    private readonly scheme: SignatureScheme,
    private readonly clock: Clock,
    private readonly rng: Rng,
    private readonly counters: Counters,
  ) {
    overlay.methods.registerNotify(BROADCAST, BroadcastMessage, (msg) => this.receive(msg));
  }

  /** Sends to every node (this one included); returns the broadcast's id. */
  send(topic: string, payload: unknown): string {
    if (!this.withinRate(this.identity.id)) {
      throw new SelfmeshError('QUOTA', `broadcasting faster than ${BROADCASTS_PER_SECOND} a second (bursts of ${BROADCAST_BURST})`);
    }
    const id = Array.from(this.rng.bytes(12), (b) => b.toString(16).padStart(2, '0')).join('');
    const unsigned = { id, origin: this.identity.id, topic, payload, time: this.clock.now() };
    this.accept({ ...unsigned, limit: 0, publicKey: this.identity.publicKey, signature: this.identity.sign(signedBytes(unsigned)) });
    return id;
  }

  /** When this node first saw the broadcast, or null. */
  seenAt(id: string): number | null {
    return this.seen.get(id) ?? null;
  }

  /** Resolves once the copy is accepted or dropped (the tests wait on it; the RPC layer does not). */
  private receive(msg: BroadcastMessage): Promise<void> | undefined {
    if (this.seen.has(msg.id)) {
      this.counters.inc('broadcast.duplicate');
      return;
    }
    // Checked before the id is remembered: a forgery must not make the real one look like a duplicate.
    if (Math.abs(this.clock.now() - msg.time) > BROADCAST_MAX_SKEW_MS) {
      this.counters.inc('broadcast.dropped.stale');
      return;
    }
    if (this.scheme.idOf(msg.publicKey) !== msg.origin) return this.forged();
    const bytes = signedBytes(msg);
    if (!this.scheme.verifyAsync) {
      if (this.scheme.verify(msg.publicKey, bytes, msg.signature)) this.acceptWithinRate(msg);
      else this.forged();
      return;
    }
    return this.verifyOffThread(msg, bytes, this.scheme.verifyAsync.bind(this.scheme));
  }

  /**
   * Each node checks every broadcast, and a check in JavaScript takes 3 ms on this project's machine
   * (32 tabs on one machine make 32 of them per broadcast): where the platform checks natively, in a
   * tenth of that, it does so here. The redundant copy that arrives meanwhile is a duplicate; a
   * different copy of the same id (a forgery, or the real one after a forgery) is checked on its own.
   * Equal signed bytes (which name the origin, whose key hashes to it) and signature make a copy equal.
   */
  private async verifyOffThread(msg: BroadcastMessage, bytes: Uint8Array, verify: NonNullable<SignatureScheme['verifyAsync']>): Promise<void> {
    const copies = this.verifying.get(msg.id) ?? [];
    if (copies.some((c) => sameBytes(c.bytes, bytes) && sameBytes(c.signature, msg.signature))) {
      this.counters.inc('broadcast.duplicate');
      return;
    }
    if (this.verifyingCount >= VERIFYING_MAX) {
      this.counters.inc('broadcast.dropped.busy');
      return;
    }
    const copy = { bytes, signature: msg.signature };
    copies.push(copy);
    this.verifying.set(msg.id, copies);
    this.verifyingCount++;
    let ok = false;
    try {
      ok = await verify(msg.publicKey, bytes, msg.signature);
    } finally {
      this.verifyingCount--;
      copies.splice(copies.indexOf(copy), 1);
      if (copies.length === 0) this.verifying.delete(msg.id);
    }
    if (!ok) return this.forged();
    // Another copy may have been accepted while this one was checked.
    if (this.seen.has(msg.id)) this.counters.inc('broadcast.duplicate');
    else this.acceptWithinRate(msg);
  }

  /** After the signature: a forgery in someone's name must not use up their rate. */
  private acceptWithinRate(msg: BroadcastMessage): void {
    if (this.withinRate(msg.origin)) this.accept(msg);
    else this.counters.inc('broadcast.dropped.rate');
  }

  private withinRate(origin: Id): boolean {
    let bucket = this.rates.get(origin);
    if (!bucket) {
      if (this.rates.size >= BUCKETS_MAX) {
        for (const [id, b] of this.rates) if (b.available() >= BROADCAST_BURST) this.rates.delete(id);
      }
      bucket = new TokenBucket(BROADCASTS_PER_SECOND, BROADCAST_BURST, () => this.clock.now());
      this.rates.set(origin, bucket);
    }
    return bucket.take();
  }

  private forged(): undefined {
    this.counters.inc('broadcast.dropped.forged');
    return undefined;
  }

  private accept(msg: BroadcastMessage): void {
    const at = this.clock.now();
    this.prune(at);
    this.seen.set(msg.id, at);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.keys().next().value!);
    this.forward(msg);
    this.events.emit('message', { id: msg.id, origin: msg.origin, topic: msg.topic, payload: msg.payload, at });
  }

  /**
   * Forgets ids accepted long enough ago that the time check now refuses any copy (its time was within
   * the skew of when it was accepted). Entries are in acceptance order, so the walk stops at the first
   * one still needed.
   */
  private prune(now: number): void {
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    for (const [id, at] of this.seen) {
      if (at + 2 * BROADCAST_MAX_SKEW_MS >= now) break;
      this.seen.delete(id);
    }
  }

  private forward(msg: BroadcastMessage): void {
    const byBucket = new Map<number, Id[]>();
    for (const link of this.overlay.links()) {
      if (link.bucket < msg.limit || link.id === msg.origin) continue;
      const list = byBucket.get(link.bucket) ?? [];
      list.push(link.id);
      byBucket.set(link.bucket, list);
    }
    for (const [bucket, ids] of byBucket) {
      for (let i = 0; i < Math.min(REDUNDANCY, ids.length); i++) {
        const j = i + this.rng.int(ids.length - i);
        [ids[i], ids[j]] = [ids[j]!, ids[i]!];
        this.overlay.notify(ids[i]!, BROADCAST, { ...msg, limit: bucket + 1 });
        this.counters.inc('broadcast.sent');
      }
    }
  }
}
