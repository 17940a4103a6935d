// The replica's side of the storage protocol: the handlers for requests from peers. Each request passed
// its schema already (MethodTable); here it is checked for responsibility, size, signature, age and
// quota. Whatever is refused is counted and reported with a clear error code; nothing bad is stored.
import { SelfmeshError, errorMessage, isSelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { MethodTable } from '../transport/methods.ts';
import type { AntiEntropy } from './anti-entropy.ts';
import type { Cas } from './cas.ts';
import type { StorageContext } from './context.ts';
import { takesOffer } from './acceptance.ts';
import type { Handoff } from './handoff.ts';
import { CasBody, FetchBody, GetBody, M, OfferBody, PushBody, PutBody, SyncBody, type OfferResult, type PushResult } from './messages.ts';
import { compareStamp, contentOf, recordBytes, stampOf, type DataRecord, type Stamp } from './records.ts';

export class Service {
  /** Keys this node said it wants from one offerer: other offers of them wait (no double transfer). */
  private readonly promised = new Map<Id, { until: number; stamp: Stamp }>();

  constructor(
    private readonly ctx: StorageContext,
    private readonly antiEntropy: AntiEntropy,
    private readonly cas: Cas,
    private readonly handoff: Handoff,
  ) {}

  register(methods: MethodTable): void {
    methods.register(M.put, PutBody, (b, c) => this.guard(M.put, c.from, () => this.put(b.record, b.owner, c.from, b.cover === true)));
    methods.register(M.get, GetBody, (b, c) => this.guard(M.get, c.from, () => this.get(b.key)));
    methods.register(M.cas, CasBody, (b, c) =>
      this.guard(M.cas, c.from, () => {
        this.requireResponsible(b.key);
        if (b.value.length > this.ctx.config.maxValueBytes) {
          throw new SelfmeshError('TOO_LARGE', `value of ${b.value.length} bytes exceeds the limit of ${this.ctx.config.maxValueBytes}`);
        }
        return this.cas.coordinate(b.key, b.expected, b.value.slice(), c.from);
      }),
    );
    methods.register(M.offer, OfferBody, (b, c) =>
      this.guard(M.offer, c.from, async () => {
        // A leaving node hands its records over: judge responsibility as the room will be without it.
        if (b.leaving) this.ctx.placement.markLeaving(c.from);
        if (b.r !== undefined) this.ctx.policy.hear(c.from, b.r);
        return this.offer(b.items, b.sync === true, b.joining === true);
      }),
    );
    methods.register(M.push, PushBody, (b, c) => this.guard(M.push, c.from, () => this.push(b.items, c.from)));
    methods.register(M.fetch, FetchBody, (b, c) => this.guard(M.fetch, c.from, () => this.fetch(b.keys)));
    methods.register(M.sync, SyncBody, (b, c) =>
      this.guard(M.sync, c.from, async () => {
        if (b.r !== undefined) this.ctx.policy.hear(c.from, b.r);
        return { ...this.antiEntropy.answer(c.from, b.buckets), r: this.ctx.policy.ownR };
      }),
    );
  }

  unregister(methods: MethodTable): void {
    for (const m of Object.values(M)) methods.unregister(m);
  }

  /**
   * A write from a client (or a cas primary on a client's behalf), charged to the writer's quota. `cover`:
   * this node stands in for a holder that failed the write (see Quorum.cover).
   */
  async put(record: DataRecord, owner: Id | undefined, from: Id, cover = false): Promise<{ ok: true }> {
    this.requireResponsible(record.key);
    // Only a fellow holder (a cas primary) may write on behalf of another node.
    const charged = owner && owner !== from && this.ctx.placement.isResponsible(record.key, from) ? owner : from;
    // A stand-in copy is one the cover created: a copy this node already kept (an extra under churn) stays
    // what it was, and is not dropped once the holders confirm.
    if (cover && !this.ctx.placement.isHolder(record.key) && !this.ctx.replica.has(record.key)) this.handoff.standIn(record.key);
    await this.store(record, charged, true, from);
    return { ok: true };
  }

  private async get(key: Id): Promise<{ record: DataRecord | null }> {
    const held = await this.ctx.replica.read(key);
    this.ctx.meters.readsServed++;
    if (held) return { record: contentOf(held) };
    this.requireResponsible(key);
    return { record: null };
  }

  /**
   * `sync`: an anti-entropy offer, taken only for keys this node keeps (see OfferBody). `joining`: the
   * offerer's view is partial, so its offers are taken only near the holders (see takesOffer).
   */
  private offer(items: Array<{ key: Id; stamp: Stamp }>, sync = false, joining = false): OfferResult {
    const out: OfferResult = { want: [], have: [], pending: [], refused: [], r: this.ctx.policy.ownR };
    const now = this.ctx.clock.now();
    if (this.promised.size > 10_000) {
      // Promises whose push never came expire; forget them so the map stays bounded.
      for (const [key, p] of this.promised) if (p.until <= now) this.promised.delete(key);
    }
    const known = this.ctx.placement.known();
    const kind = sync ? 'sync' : joining ? 'joining' : 'handoff';
    for (const { key, stamp } of items) {
      if (!takesOffer(this.ctx, key, kind, this.ctx.replica.stamp(key) !== undefined, known)) {
        out.refused.push(key);
        continue;
      }
      const held = this.ctx.replica.stamp(key);
      if ((held && compareStamp(held, stamp) >= 0) || this.ctx.replica.wasCollected(key, stamp)) {
        out.have.push(key);
        continue;
      }
      const p = this.promised.get(key);
      if (p && p.until > now && compareStamp(p.stamp, stamp) >= 0) {
        out.pending.push(key);
        continue;
      }
      this.promised.set(key, { until: now + this.ctx.config.pendingMs, stamp });
      out.want.push(key);
    }
    return out;
  }

  private async push(items: Array<{ record: DataRecord; owner?: Id }>, from: Id): Promise<PushResult> {
    const out: PushResult = { held: [], refused: [] };
    let stored = false;
    for (const { record, owner } of items) {
      try {
        this.requireResponsible(record.key);
        // A tombstone collected here lately is not taken back (a holder that has not collected it yet).
        if (this.ctx.replica.collectedAny(record.key) && this.ctx.replica.wasCollected(record.key, stampOf(record))) {
          out.held.push(record.key);
          continue;
        }
        await this.store(record, owner ?? from, false, from);
        out.held.push(record.key);
        stored = true;
      } catch (e) {
        // STALE: this node holds something newer, which confirms it as well.
        if (isSelfmeshError(e, 'STALE')) out.held.push(record.key);
        else {
          this.refused(M.push, from, e);
          out.refused.push({ key: record.key, code: isSelfmeshError(e) ? e.code : 'INTERNAL' });
        }
      }
    }
    // A holder that just got a key may be the one to offer it to another new holder (two holders died
    // at once): plan now, not at the next retry. Not on client puts: their other copies are in flight.
    if (stored) this.handoff.schedule();
    return out;
  }

  private async fetch(keys: Id[]): Promise<{ done: number; items: Array<{ record: DataRecord; owner: Id }> }> {
    const items: Array<{ record: DataRecord; owner: Id }> = [];
    let bytes = 0;
    let done = 0;
    for (const key of keys) {
      const held = await this.ctx.replica.read(key);
      if (held) {
        const size = recordBytes(held);
        if (items.length > 0 && bytes + size > this.ctx.config.transferBatchBytes) break;
        items.push({ record: contentOf(held), owner: held.owner });
        bytes += size;
      }
      done++;
    }
    return { done, items };
  }

  private async store(record: DataRecord, owner: Id, charge: boolean, from: Id): Promise<void> {
    const outcome = await this.ctx.replica.apply(record, owner, charge);
    this.promised.delete(record.key);
    if (outcome === 'stored') {
      this.ctx.events.emit('stored', { key: record.key, from });
      // A record that arrives may need to go on (this node may now be the pusher for it, or a spare
      // that took a write for a holder that did not answer and must hand it over).
      this.handoff.touch(record.key);
      if (!this.ctx.placement.isHolder(record.key)) this.handoff.schedule();
    }
  }

  private requireResponsible(key: Id): void {
    if (!this.ctx.placement.isResponsible(key)) {
      throw new SelfmeshError('NOT_RESPONSIBLE', `${this.ctx.selfId.slice(0, 8)} is not among the ${this.ctx.placement.r} closest to ${key.slice(0, 8)}`);
    }
  }

  private async guard<T>(method: string, from: Id, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      this.refused(method, from, e);
      throw e;
    }
  }

  private refused(method: string, from: Id, e: unknown): void {
    const code = isSelfmeshError(e) ? e.code : 'INTERNAL';
    this.ctx.meters.refused++;
    this.ctx.counters.inc(`storage.refused.${code}`);
    this.ctx.events.emit('refused', { from, method, code, reason: errorMessage(e) });
  }
}
