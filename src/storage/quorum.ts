// Quorum writes and reads over the r holders of a key: a write is acknowledged after W replicas
// committed it; a read takes R replies, the newest wins, and replicas that answered with something
// older are repaired in the background.
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import { encode } from '../core/codec.ts';
import { type StorageContext, callPeer, gather, isDefinite, quorumError } from './context.ts';
import { GetReply, M, PushReply, PutReply } from './messages.ts';
import { compareStamp, contentOf, stampOf, type DataRecord } from './records.ts';

export interface ReadResult {
  /** The newest record among the replies (null: no replica holds one). */
  record: DataRecord | null;
  /** How many holders answered before the read returned. */
  replies: number;
}

export class Quorum {
  constructor(private readonly ctx: StorageContext) {}

  /**
   * Writes rec to the holders of its key and resolves after W acknowledged (each after its commit).
   * Holders that fail are replaced by the next closest nodes (they hold the record until handoff moves
   * it). Throws the replicas' refusal (STALE, QUOTA, TOO_LARGE, ...) or UNREACHABLE below quorum.
   */
  async write(rec: DataRecord, owner?: Id): Promise<Id[]> {
    const { config, placement, selfId } = this.ctx;
    const checking = this.ctx.replica.validate(rec);
    if (checking) await checking;
    // The quorum is taken among the config.r closest, as reads are; copies the churn policy adds beyond
    // them are written at the same time but not waited for (they are for durability, not for reads).
    const r = Math.max(config.r, placement.r);
    const candidates = await this.ctx.port.findClosest(rec.key, r + config.slack);
    const first = candidates.slice(0, config.r);
    const extra = candidates.slice(config.r, r);
    const spare = candidates.slice(r);
    const body = { record: contentOf(rec), owner };
    /** Holders that confirmed the write; a definite refusal (STALE, QUOTA...) from any of them. */
    const confirmed = new Set<Id>();
    let refused = false;
    const attempt = async (node: Id): Promise<Id> => {
      try {
        if (node === selfId) await this.ctx.replica.apply(rec, owner ?? selfId, true);
        else await callPeer(this.ctx, node, M.put, body, PutReply);
      } catch (e) {
        if (isDefinite(e)) refused = true;
        throw e;
      }
      confirmed.add(node);
      return node;
    };
    const extras = Promise.allSettled(extra.map(attempt));
    this.ctx.tasks.track(extras);
    const { ok, errors, rest } = await gather(first.map(attempt), config.w);
    this.ctx.tasks.track(rest);
    const acked = [...ok];
    // Only unreachable holders are replaced: a refusal (STALE, QUOTA...) would be the same elsewhere.
    const replaceable = errors.filter((e) => !isDefinite(e)).length;
    let used = 0;
    for (; acked.length < config.w && used < spare.length && used < replaceable; used++) {
      try {
        acked.push(await attempt(spare[used]!));
      } catch (e) {
        errors.push(e);
      }
    }
    if (acked.length < config.w) throw quorumError(`write of ${rec.key.slice(0, 8)}`, acked.length, config.w, errors);
    this.ctx.meters.writesAcked++;
    if (config.coverFailedWrites && used < spare.length) {
      const settled = Promise.all([rest, extras]);
      this.ctx.tasks.track(settled.then(() => this.cover([...first, ...extra], spare.slice(used), confirmed, refused, body)));
    }
    return acked;
  }

  /**
   * Once every holder answered or failed, each one that failed an acknowledged write (unreachable, or a
   * timeout: perhaps a silent crash nobody has noticed yet) is covered by the next spare: otherwise the
   * write may sit on only W live nodes until the dead holders are detected, and be lost if those W go
   * meanwhile (Dynamo's hinted handoff). The spare stands in: it hands the record to the holders as a
   * former holder does, and drops it once they all confirmed (not kept as an extra copy, even under
   * churn). The writer does not stand in for a holder itself. A refusal means the record is stale or
   * unwanted everywhere: nothing to cover.
   */
  private async cover(holders: Id[], spares: Id[], confirmed: Set<Id>, refused: boolean, body: { record: DataRecord; owner?: Id }): Promise<void> {
    if (refused) return;
    const missing = holders.filter((h) => !confirmed.has(h)).length;
    if (missing === 0) return;
    const standIns = spares.filter((s) => s !== this.ctx.selfId).slice(0, missing);
    this.ctx.counters.inc('storage.write.covered', standIns.length);
    await Promise.allSettled(standIns.map((node) => callPeer(this.ctx, node, M.put, { ...body, cover: true }, PutReply)));
  }

  /** Reads key from R holders; newest wins; stale holders are repaired once every holder answered. */
  async read(key: Id): Promise<ReadResult> {
    const { config, selfId, replica } = this.ctx;
    const holders = await this.ctx.port.findClosest(key, config.r);
    type Reply = { node: Id; record: DataRecord | null };
    const ask = async (node: Id): Promise<Reply> => {
      if (node === selfId) {
        const held = await replica.read(key);
        return { node, record: held ? contentOf(held) : null };
      }
      const reply = await callPeer(this.ctx, node, M.get, { key }, GetReply);
      const record = reply.record;
      if (record) {
        // A replica could answer with a forged or misplaced record; the reader checks it too.
        if (record.key !== key) throw new SelfmeshError('BAD_MESSAGE', `${node.slice(0, 8)} answered for another key`);
        const checking = replica.validate(record);
        if (checking) await checking;
      }
      return { node, record };
    };
    const tasks = holders.map(ask);
    const need = Math.min(config.readQuorum, holders.length);
    const { ok, errors, rest } = await gather(tasks, need);
    if (ok.length < need || need === 0) {
      this.ctx.tasks.track(rest);
      throw quorumError(`read of ${key.slice(0, 8)}`, ok.length, config.readQuorum, errors);
    }
    this.ctx.tasks.track(rest.then(() => this.repair(tasks)));
    return { record: newest(ok.map((r) => r.record)), replies: ok.length };
  }

  /** Read repair: every holder that answered with less than the newest answer gets the newest. */
  private async repair(tasks: Promise<{ node: Id; record: DataRecord | null }>[]): Promise<void> {
    const replies = (await Promise.allSettled(tasks))
      .filter((s) => s.status === 'fulfilled')
      .map((s) => s.value);
    const best = newest(replies.map((r) => r.record));
    if (!best) return;
    const bestStamp = stampOf(best);
    for (const { node, record } of replies) {
      if (record && compareStamp(stampOf(record), bestStamp) >= 0) continue;
      this.ctx.counters.inc('storage.read-repair');
      if (node === this.ctx.selfId) {
        await this.ctx.replica.apply(best, this.ctx.selfId, false).catch(() => undefined);
        continue;
      }
      const bytes = encode(contentOf(best)).length;
      try {
        await callPeer(this.ctx, node, M.push, { items: [{ record: contentOf(best) }] }, PushReply);
        this.ctx.meters.readRepairBytes += bytes;
        this.ctx.events.emit('moved', { to: node, records: 1, bytes, reason: 'read-repair' });
      } catch {
        this.ctx.counters.inc('storage.read-repair.failed');
      }
    }
  }
}

export function newest(records: Array<DataRecord | null>): DataRecord | null {
  let best: DataRecord | null = null;
  for (const r of records) if (r && (!best || compareStamp(stampOf(r), stampOf(best)) > 0)) best = r;
  return best;
}
