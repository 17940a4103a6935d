// The move audit of a storage world (bench/storage.ts --audit): every record a node sent or fetched,
// whether it went to a true holder, whether the receiver dropped it again or got it twice, and a
// per-key history of writes, acks and deaths. Off unless asked for: it keeps every delivery in memory.
import type { Id } from '../src/core/id.ts';
import type { SelfmeshNode } from '../src/node.ts';

/** One record sent to a node, as the audit saw it. */
interface Delivery {
  reason: string;
  key: Id;
  to: Id;
  at: number;
  bytes: number;
  /** Whether `to` was one of the r live nodes truly closest to key when the record arrived. */
  trueHolder: boolean;
}

export interface AuditRow {
  bytes: number;
  records: number;
  notTrueHolder: number;
  droppedLater: number;
  repeat: number;
  targetDead: number;
  keyNotLost: number;
  beyondLost: number;
}

export class MoveAudit {
  /** Per key, what happened to it (store writes and deletes, acks, deaths), with times. */
  readonly history = new Map<Id, string[]>();
  private readonly deliveries: Delivery[] = [];
  /** node/key → times the node's store dropped key while the node was alive. */
  private readonly drops = new Map<string, number>();
  /** Keys some departure left below r replicas, with how many replicas each lost. */
  private readonly lost = new Map<Id, number>();
  private on = false;

  constructor(
    private readonly now: () => number,
    private readonly trueHolders: (key: Id) => Id[],
    private readonly isAlive: (id: Id) => boolean,
  ) {}

  /** Follows one node's moves, fetches and drops. */
  watch(node: SelfmeshNode): void {
    node.storage.events.on('moved', (e) => {
      for (const key of e.keys ?? []) this.deliver(e.reason, key, e.to, e.bytes / (e.keys?.length ?? 1));
    });
    node.storage.events.on('fetched', (e) => {
      for (const key of e.keys) this.deliver('fetch', key, node.id, e.bytes / e.keys.length);
    });
    node.storage.events.on('dropped', (e) => {
      if (!this.on) return;
      const k = `${node.id}/${e.key}`;
      this.drops.set(k, (this.drops.get(k) ?? 0) + 1);
    });
  }

  /** Starts (or restarts) counting. */
  start(): void {
    this.deliveries.length = 0;
    this.drops.clear();
    this.lost.clear();
    this.on = true;
  }

  note(key: Id, what: string): void {
    if (!this.on) return;
    let h = this.history.get(key);
    if (!h) this.history.set(key, (h = []));
    h.push(`${(this.now() / 1000).toFixed(1)} ${what}`);
  }

  /** A departure left key one replica short. */
  lostReplica(key: Id): void {
    if (this.on) this.lost.set(key, (this.lost.get(key) ?? 0) + 1);
  }

  private deliver(reason: string, key: Id, to: Id, bytes: number): void {
    if (!this.on) return;
    this.deliveries.push({ reason, key, to, at: this.now(), bytes, trueHolder: this.trueHolders(key).includes(to) });
  }

  /**
   * Where the moved bytes went, per mechanism: to a true holder or not, to a node that later dropped the
   * record, the same (key, node) more than once.
   */
  report(): Record<string, AuditRow> {
    const out: Record<string, AuditRow> = {};
    const seen = new Set<string>();
    const perKey = new Map<Id, number>();
    for (const d of this.deliveries) {
      const row = (out[d.reason] ??= { bytes: 0, records: 0, notTrueHolder: 0, droppedLater: 0, repeat: 0, targetDead: 0, keyNotLost: 0, beyondLost: 0 });
      const lost = this.lost.get(d.key) ?? 0;
      if (lost === 0) row.keyNotLost += d.bytes;
      const nth = (perKey.get(d.key) ?? 0) + 1;
      perKey.set(d.key, nth);
      if (lost > 0 && nth > lost) row.beyondLost += d.bytes;
      const k = `${d.to}/${d.key}`;
      row.bytes += d.bytes;
      row.records++;
      if (!d.trueHolder) row.notTrueHolder += d.bytes;
      if (this.drops.has(k)) row.droppedLater += d.bytes;
      if (seen.has(k)) row.repeat += d.bytes;
      if (!this.isAlive(d.to)) row.targetDead += d.bytes;
      seen.add(k);
    }
    return out;
  }
}
