// This node's replicas: the durable store plus an in-memory index (stamp, size, owner per key) so that
// placement, summaries and stats never scan the store. Writes to one key are serialized, and a write is
// applied only when it is newer than what is held.
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { SignatureScheme } from '../core/identity.ts';
import { type Limits, QuotaLedger } from './limits.ts';
import {
  compareStamp, contentOf, detach, isTombstone, recordBytes, stampOf, validateRecord,
  type DataRecord, type Stamp, type StoredRecord,
} from './records.ts';
import type { ReplicaStore } from './replica-store.ts';

/** How far ahead of this node's clock an open record's version may be (twice the signals' skew bound). */
export const MAX_VERSION_AHEAD_MS = 4 * 60_000;

export interface IndexEntry {
  stamp: Stamp;
  bytes: number;
  owner: Id;
  /** A deleted key's tombstone (an open record with a null value). */
  tombstone: boolean;
  /** When this node stored the record (its clock; a reloaded store counts from the reload). */
  since: number;
}

export type ApplyOutcome = 'stored' | 'same';

export class LocalReplica {
  readonly index = new Map<Id, IndexEntry>();
  private readonly ledger: QuotaLedger;
  private readonly locks = new Map<Id, Promise<unknown>>();
  private totalBytes = 0;
  /**
   * Tombstones this node collected (garbage-collected), remembered until `until`: an offer or push of
   * that very tombstone is answered as held, so that a fellow holder that has not collected it yet does
   * not put it back here (and a collected tombstone does not bounce between holders).
   */
  private readonly collected = new Map<Id, { stamp: Stamp; until: number }>();

  constructor(
    readonly store: ReplicaStore,
    private readonly scheme: SignatureScheme,
    private readonly limits: Limits,
    private readonly now: () => number = () => 0,
  ) {
    this.ledger = new QuotaLedger(limits.writerQuotaBytes);
  }

  /** Builds the index from what the store holds (a reopened database keeps its records). */
  async load(): Promise<void> {
    for (const rec of await this.store.entries()) this.track(rec.key, stampOf(rec), recordBytes(rec), rec.owner, isTombstone(rec));
  }

  get bytes(): number {
    return this.totalBytes;
  }

  has(key: Id): boolean {
    return this.index.has(key);
  }

  stamp(key: Id): Stamp | undefined {
    return this.index.get(key)?.stamp;
  }

  keys(): Id[] {
    return [...this.index.keys()];
  }

  async read(key: Id): Promise<StoredRecord | undefined> {
    return this.index.has(key) ? this.store.get(key) : undefined;
  }

  /**
   * Throws what is wrong with a record (size, hash, signature, a version from the future) before anything
   * is stored; a promise if the signature is being checked natively (see validateRecord).
   */
  validate(rec: DataRecord): void | Promise<void> {
    const signature = validateRecord(rec, this.scheme, this.limits);
    // Versions come from the writers' clocks (nextVersion): one far ahead of every clock would hold the
    // key against every later write for good. Clocks in one room differ by less than the signals' skew
    // bound (a node further off cannot link), so twice that bound never refuses an honest write, and a
    // record that passes here passes again later, on any holder.
    if (rec.kind === 'versioned' && rec.counter > this.now() + MAX_VERSION_AHEAD_MS) {
      throw new SelfmeshError('BAD_MESSAGE', `version ${rec.counter} is more than ${MAX_VERSION_AHEAD_MS / 60_000} minutes ahead of this node's clock`);
    }
    return signature;
  }

  /**
   * Stores rec if it is newer than the held record for its key. An older one is refused with STALE (a
   * replayed sequence number, a lost race); the same one is accepted again (idempotent). With `charge`,
   * owner's per-writer quota applies. Resolves after the store committed.
   */
  async apply(rec: DataRecord, owner: Id, charge: boolean): Promise<ApplyOutcome> {
    // Awaited only when there is something to wait for: the simulator's checks stay synchronous.
    const checking = this.validate(rec);
    if (checking) await checking;
    const stamp = stampOf(rec);
    return this.withLock(rec.key, async () => {
      const cur = this.index.get(rec.key);
      if (cur) {
        const c = compareStamp(stamp, cur.stamp);
        if (c === 0) return 'same';
        if (c < 0) throw new SelfmeshError('STALE', `${describe(rec)} is older than the held ${describeStamp(cur.stamp)}`);
      }
      const bytes = recordBytes(rec);
      if (charge) this.ledger.check(owner, bytes - (cur && cur.owner === owner ? cur.bytes : 0));
      await this.store.put({ ...detach(contentOf(rec)), owner });
      if (cur) this.untrack(rec.key, cur);
      this.track(rec.key, stamp, bytes, owner, isTombstone(rec));
      this.collected.delete(rec.key);
      return 'stored';
    });
  }

  /** Drops key only if it still holds the record with this stamp (a newer write cancels the drop). */
  drop(key: Id, stamp: Stamp): Promise<boolean> {
    return this.withLock(key, async () => {
      const cur = this.index.get(key);
      if (!cur || compareStamp(cur.stamp, stamp) !== 0) return false;
      await this.store.delete(key);
      this.untrack(key, cur);
      return true;
    });
  }

  /**
   * Collects a tombstone: drops it if it is still the held record with this stamp, and remembers it for
   * `rememberMs` (see `collected`).
   */
  collect(key: Id, stamp: Stamp, rememberMs: number): Promise<boolean> {
    return this.withLock(key, async () => {
      const cur = this.index.get(key);
      if (!cur || !cur.tombstone || compareStamp(cur.stamp, stamp) !== 0) return false;
      await this.store.delete(key);
      this.untrack(key, cur);
      this.collected.set(key, { stamp, until: this.now() + rememberMs });
      return true;
    });
  }

  /** Whether this node remembers collecting some tombstone of key (cheap; no stamp needed). */
  collectedAny(key: Id): boolean {
    return this.collected.has(key);
  }

  /** Whether this node collected exactly this tombstone recently (it counts as held for repair). */
  wasCollected(key: Id, stamp: Stamp): boolean {
    const c = this.collected.get(key);
    if (!c) return false;
    if (c.until <= this.now()) {
      this.collected.delete(key);
      return false;
    }
    return compareStamp(c.stamp, stamp) === 0;
  }

  /** Forgets collected tombstones whose memory expired. */
  pruneCollected(): void {
    const now = this.now();
    for (const [key, c] of this.collected) if (c.until <= now) this.collected.delete(key);
  }

  /** Runs fn with key locked; callers that span RPCs (cas) use it too, through their own lock map. */
  withLock<T>(key: Id, fn: () => Promise<T>): Promise<T> {
    return chain(this.locks, key, fn);
  }

  private track(key: Id, stamp: Stamp, bytes: number, owner: Id, tombstone: boolean): void {
    this.index.set(key, { stamp, bytes, owner, tombstone, since: this.now() });
    this.ledger.add(owner, bytes);
    this.totalBytes += bytes;
  }

  private untrack(key: Id, entry: IndexEntry): void {
    this.index.delete(key);
    this.ledger.add(entry.owner, -entry.bytes);
    this.totalBytes -= entry.bytes;
  }
}

/** Serializes async work per key: each task starts after the previous one for that key settled. */
export function chain<T>(locks: Map<Id, Promise<unknown>>, key: Id, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return run;
}

function describe(rec: DataRecord): string {
  if (rec.kind === 'signed') return `seq ${rec.seq}`;
  if (rec.kind === 'versioned') return `version ${rec.counter}/${rec.writer.slice(0, 8)}`;
  return 'record';
}

function describeStamp(s: Stamp): string {
  return s[0] === 2 ? `seq ${s[1]}` : s[0] === 1 ? `version ${s[1]}/${s[2].slice(0, 8)}` : 'immutable record';
}
