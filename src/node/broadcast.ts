// Broadcast to every node of the room through the overlay, as a tree over the Kademlia buckets
// (El-Ansary et al.): a node that got a message with limit L sends it to linked nodes in each of its
// buckets b >= L, with limit b + 1, so each subtree of the id space is covered by the node sent into
// it. Two nodes per bucket instead of one, with duplicates dropped, so that one dead link does not cut
// a subtree off; the cost stays below 2N messages per broadcast.
import * as v from 'valibot';
import type { Clock } from '../core/clock.ts';
import type { Counters } from '../core/counters.ts';
import { Emitter } from '../core/emitter.ts';
import { isId, type Id } from '../core/id.ts';
import type { Rng } from '../core/rng.ts';
import type { Overlay } from '../overlay/overlay.ts';

export const BROADCAST = 'node.broadcast';
const REDUNDANCY = 2;
const SEEN_MAX = 4096;

const BroadcastMessage = v.object({
  id: v.pipe(v.string(), v.regex(/^[0-9a-f]{16,32}$/)),
  origin: v.custom<Id>(isId),
  topic: v.pipe(v.string(), v.maxLength(128)),
  limit: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(256)),
  payload: v.unknown(),
});
type BroadcastMessage = v.InferOutput<typeof BroadcastMessage>;

export interface BroadcastEvent {
  id: string;
  origin: Id;
  topic: string;
  payload: unknown;
  at: number;
}

export class Broadcaster {
  readonly events = new Emitter<{ message: BroadcastEvent }>();
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly overlay: Overlay,
    private readonly clock: Clock,
    private readonly rng: Rng,
    private readonly counters: Counters,
  ) {
    overlay.methods.registerNotify(BROADCAST, BroadcastMessage, (msg) => this.receive(msg));
  }

  /** Sends to every node (this one included); returns the broadcast's id. */
  send(topic: string, payload: unknown): string {
    const id = Array.from(this.rng.bytes(12), (b) => b.toString(16).padStart(2, '0')).join('');
    this.receive({ id, origin: this.overlay.id, topic, limit: 0, payload });
    return id;
  }

  /** When this node first saw the broadcast, or null. */
  seenAt(id: string): number | null {
    return this.seen.get(id) ?? null;
  }

  private receive(msg: BroadcastMessage): void {
    if (this.seen.has(msg.id)) {
      this.counters.inc('broadcast.duplicate');
      return;
    }
    const at = this.clock.now();
    this.seen.set(msg.id, at);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.keys().next().value!);
    this.forward(msg);
    this.events.emit('message', { id: msg.id, origin: msg.origin, topic: msg.topic, payload: msg.payload, at });
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
