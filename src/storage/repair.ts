// Moving records to a node that should hold them (handoff, re-replication after a death, anti-entropy):
// offer first (keys and stamps only), then push only what the receiver wants. Offers keep the bytes
// moved close to the ideal — a record goes once to each node that lacks it — and the receiver's answer
// doubles as the confirmation that lets a former holder drop its copy.
import { encode } from '../core/codec.ts';
import type { Id } from '../core/id.ts';
import { type MoveReason, type StorageContext, callPeer } from './context.ts';
import { M, MAX_BATCH, OfferReply, PushReply, type OfferItem } from './messages.ts';
import { contentOf } from './records.ts';

export interface MoveResult {
  /** Keys the target now holds at least at our version. */
  confirmed: Set<Id>;
  /** Keys the target expects from someone else right now (ask again later). */
  pending: Set<Id>;
  bytes: number;
}

export class Mover {
  constructor(private readonly ctx: StorageContext) {}

  /** Moves each target its keys, all targets at once; resolves with the keys each target confirmed. */
  async moveAll(byTarget: Map<Id, Id[]>, reason: MoveReason): Promise<Map<Id, Set<Id>>> {
    const confirmed = new Map<Id, Set<Id>>();
    await Promise.all(
      [...byTarget].map(async ([target, keys]) => {
        confirmed.set(target, (await this.move(target, keys, reason)).confirmed);
      }),
    );
    return confirmed;
  }

  /**
   * Offers keys to target and pushes those it wants. Network failures leave keys unconfirmed. `answered`
   * is called at the target's first reply (it is alive), which may come long before the pushes end.
   */
  async move(target: Id, keys: Id[], reason: MoveReason, answered?: () => void): Promise<MoveResult> {
    const result: MoveResult = { confirmed: new Set(), pending: new Set(), bytes: 0 };
    for (let i = 0; i < keys.length; i += MAX_BATCH) {
      const items: OfferItem[] = [];
      for (const key of keys.slice(i, i + MAX_BATCH)) {
        const stamp = this.ctx.replica.stamp(key);
        if (stamp) items.push({ key, stamp: [...stamp] });
      }
      if (items.length === 0) continue;
      this.ctx.meters.controlBytes += encode(items).length;
      this.ctx.counters.inc(`storage.offer.${reason}`, items.length);
      let offer;
      try {
        const r = this.ctx.policy.ownR;
        const joining = this.ctx.port.joined?.() === false ? { joining: true as const } : {};
        const body = reason === 'leave' ? { items, leaving: true as const, r } : reason === 'anti-entropy' || reason === 'kept' ? { items, sync: true as const, r } : { items, r, ...joining };
        offer = await callPeer(this.ctx, target, M.offer, body, OfferReply);
      } catch {
        this.ctx.counters.inc('storage.offer.failed');
        continue;
      }
      answered?.();
      if (offer.r !== undefined) this.ctx.policy.hear(target, offer.r);
      for (const k of offer.have) result.confirmed.add(k);
      for (const k of offer.pending) result.pending.add(k);
      await this.push(target, offer.want, reason, result);
    }
    return result;
  }

  /** Sends records (batched by bytes) and records which ones the target now holds. */
  async push(target: Id, keys: Id[], reason: MoveReason, result: MoveResult): Promise<void> {
    const { replica, config } = this.ctx;
    let batch: Array<{ record: ReturnType<typeof contentOf>; owner: Id }> = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const items = batch;
      const bytes = batchBytes;
      batch = [];
      batchBytes = 0;
      try {
        const reply = await callPeer(this.ctx, target, M.push, { items }, PushReply);
        for (const k of reply.held) result.confirmed.add(k);
        this.ctx.meters.repairBytes += bytes;
        this.ctx.meters.recordsMoved += items.length;
        result.bytes += bytes;
        this.ctx.events.emit('moved', { to: target, records: items.length, bytes, reason, keys: items.map((i) => i.record.key) });
      } catch {
        this.ctx.counters.inc('storage.push.failed');
      }
    };
    for (const key of keys) {
      const rec = await replica.read(key);
      if (!rec) continue;
      const record = contentOf(rec);
      const size = encode(record).length;
      if (batch.length > 0 && (batchBytes + size > config.transferBatchBytes || batch.length >= MAX_BATCH)) await flush();
      batch.push({ record, owner: rec.owner });
      batchBytes += size;
    }
    await flush();
  }
}

/** Adds key to target's list (building the per-target lists that `moveAll` takes). */
export function addKey(byTarget: Map<Id, Id[]>, target: Id, key: Id): void {
  const list = byTarget.get(target);
  if (list) list.push(key);
  else byTarget.set(target, [key]);
}
