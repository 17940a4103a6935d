// Anti-entropy: now and then a node compares, with one neighbour, summaries of the keys both should hold
// (64 buckets by the key's low bits, each the XOR of the records' digests). Only the buckets that differ
// are listed key by key, and only the records that differ are moved, in whichever direction is newer.
// This finds what the event-driven paths missed (a lost message, a node that came back).
import { encode } from '../core/codec.ts';
import type { Id } from '../core/id.ts';
import { type StorageContext, callPeer } from './context.ts';
import { BUCKETS, FetchReply, M, MAX_BATCH, SyncReply, type SyncResult } from './messages.ts';
import { compareStamp, type Stamp } from './records.ts';
import type { Mover } from './repair.ts';
import { takesOffer } from './acceptance.ts';

interface Summary {
  buckets: string[];
  byBucket: Map<number, Id[]>;
}

export function bucketOf(key: Id): number {
  return parseInt(key.slice(62), 16) % BUCKETS;
}

export class AntiEntropy {
  private cursor: number;

  constructor(
    private readonly ctx: StorageContext,
    private readonly mover: Mover,
  ) {
    this.cursor = ctx.rng.int(1 << 30);
  }

  /** One round: sync with the next neighbour in turn. */
  async round(): Promise<void> {
    const peers = this.ctx.port.neighbors();
    if (peers.length === 0) return;
    await this.syncWith(peers[this.cursor++ % peers.length]!);
  }

  /** Compares summaries with peer and moves what differs both ways. Returns keys pushed and fetched. */
  async syncWith(peer: Id): Promise<{ pushed: number; fetched: number }> {
    const { replica } = this.ctx;
    const mine = this.summary(peer);
    this.ctx.meters.controlBytes += encode(mine.buckets).length;
    const reply = await callPeer(this.ctx, peer, M.sync, { buckets: mine.buckets, r: this.ctx.policy.ownR }, SyncReply);
    if (reply.r !== undefined) this.ctx.policy.hear(peer, reply.r);
    const theirs = new Map<Id, Stamp>(reply.items.map((i) => [i.key, i.stamp]));
    this.ctx.meters.controlBytes += encode(reply).length;
    const toPush: Id[] = [];
    for (const b of reply.diff) {
      for (const key of mine.byBucket.get(b) ?? []) {
        const t = theirs.get(key);
        const m = replica.stamp(key);
        if (m && (!t || compareStamp(m, t) > 0)) toPush.push(key);
      }
    }
    const toFetch: Id[] = [];
    const known = this.ctx.placement.known();
    for (const [key, stamp] of theirs) {
      const m = replica.stamp(key);
      // Only what a sync offer would be taken for: a key it merely accepts it would drop again and fetch again.
      if ((!m || compareStamp(stamp, m) > 0) && takesOffer(this.ctx, key, 'sync', m !== undefined, known) && !replica.wasCollected(key, stamp)) toFetch.push(key);
    }
    if (toPush.length) await this.mover.move(peer, toPush, 'anti-entropy');
    const fetched = await this.fetch(peer, toFetch);
    if (toPush.length || fetched) this.ctx.counters.inc('storage.anti-entropy.repaired', toPush.length + fetched);
    return { pushed: toPush.length, fetched };
  }

  /** Answers a peer's summary: which buckets differ, and what this node holds in them. */
  answer(from: Id, buckets: string[]): SyncResult {
    const mine = this.summary(from);
    const diff: number[] = [];
    const items: SyncResult['items'] = [];
    for (let b = 0; b < BUCKETS; b++) {
      if (mine.buckets[b] === buckets[b]) continue;
      diff.push(b);
      for (const key of mine.byBucket.get(b) ?? []) items.push({ key, stamp: [...this.ctx.replica.stamp(key)!] });
    }
    return { diff, items };
  }

  /** Summary of the keys held here that both this node and peer should hold, in this node's view. */
  private summary(peer: Id): Summary {
    const { replica, placement, selfId } = this.ctx;
    const known = placement.known();
    if (!known.includes(peer)) known.push(peer);
    const acc: Array<[number, number] | undefined> = new Array(BUCKETS);
    const byBucket = new Map<number, Id[]>();
    const holdersOf = placement.holdersAmong(known);
    for (const [key, entry] of replica.index) {
      const holders = holdersOf(key);
      if (!holders.includes(peer) || !holders.includes(selfId)) continue;
      const b = bucketOf(key);
      const d = entry.stamp[3];
      const hi = parseInt(d.slice(0, 8), 16);
      const lo = parseInt(d.slice(8), 16);
      const cur = acc[b] ?? [0, 0];
      acc[b] = [(cur[0] ^ hi) >>> 0, (cur[1] ^ lo) >>> 0];
      const list = byBucket.get(b);
      if (list) list.push(key);
      else byBucket.set(b, [key]);
    }
    const buckets = Array.from({ length: BUCKETS }, (_, b) => {
      const x = acc[b];
      return x ? x[0].toString(16).padStart(8, '0') + x[1].toString(16).padStart(8, '0') : '';
    });
    return { buckets, byBucket };
  }

  /** Pulls records from peer and applies the newer ones; returns how many were stored. */
  private async fetch(peer: Id, keys: Id[]): Promise<number> {
    let stored = 0;
    let rest = keys;
    while (rest.length > 0) {
      const batch = rest.slice(0, MAX_BATCH);
      let reply;
      try {
        reply = await callPeer(this.ctx, peer, M.fetch, { keys: batch }, FetchReply);
      } catch {
        this.ctx.counters.inc('storage.fetch.failed');
        return stored;
      }
      const got: Id[] = [];
      let gotBytes = 0;
      for (const { record, owner } of reply.items) {
        if (!batch.includes(record.key)) continue;
        const size = encode(record).length;
        this.ctx.meters.repairBytes += size;
        this.ctx.meters.recordsMoved++;
        got.push(record.key);
        gotBytes += size;
        try {
          if ((await this.ctx.replica.apply(record, owner ?? peer, false)) === 'stored') stored++;
        } catch {
          this.ctx.counters.inc('storage.fetch.refused');
        }
      }
      if (got.length) this.ctx.events.emit('fetched', { from: peer, records: got.length, bytes: gotBytes, keys: got });
      // The peer answers a prefix of the keys (bounded by bytes); ask again for the rest.
      if (reply.done === 0) break;
      rest = rest.slice(reply.done);
    }
    return stored;
  }
}
