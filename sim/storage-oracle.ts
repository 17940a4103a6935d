// The storage oracle for the simulator: it sees every write and delete of every node's store (so it
// knows which node holds which version of every key), and it keeps the latest acknowledged write of every
// key. From both it answers what the tests and the benchmark check: live replicas of the acknowledged
// write, lost keys, keys below r, true holders that disagree, and whether a read returned the right value.
import { encode } from '../src/core/codec.ts';
import { sameBytes, type Id } from '../src/core/id.ts';
import { MemoryStore } from '../src/storage/memory-store.ts';
import { compareStamp, contentOf, stampOf, type Stamp, type StoredRecord } from '../src/storage/records.ts';

/** One replica as the oracle saw it land in a node's store. */
export interface Held {
  stamp: Stamp;
  /** Encoded size of the record's content: what the storage meters count when it moves. */
  bytes: number;
}

/** A store that reports every write and delete to the oracle (after it happened). */
export class ObservedStore extends MemoryStore {
  constructor(
    private readonly nodeId: Id,
    private readonly oracle: StorageOracle,
  ) {
    super();
  }

  override async put(record: StoredRecord): Promise<void> {
    await super.put(record);
    this.oracle.onPut(this.nodeId, record);
  }

  override async delete(key: Id): Promise<void> {
    await super.delete(key);
    this.oracle.onDelete(this.nodeId, key);
  }
}

/** The latest acknowledged write of a key, and what was attempted after it without an acknowledgement. */
export interface KeyState {
  acked: { value: Uint8Array; stamp: Stamp } | null;
  /** Values of writes after the latest ack that failed: they may or may not have landed somewhere. */
  maybe: Uint8Array[];
  busy: boolean;
}

export class StorageOracle {
  /** Every key written through the world: its latest acknowledged write and what came after it. */
  readonly keys = new Map<Id, KeyState>();
  /** key → node → what that node's store holds. */
  readonly holdings = new Map<Id, Map<Id, Held>>();
  /** node → keys it holds (for departures). */
  private readonly byNode = new Map<Id, Set<Id>>();

  constructor(
    private readonly isAlive: (node: Id) => boolean,
    /** The r live nodes truly closest to a key (the world knows who is alive and joined). */
    private readonly trueHolders: (key: Id) => Id[],
    readonly r: number,
  ) {}

  /** With `trace` on, every store write and delete per key (for finding out how a key was lost). */
  trace: ((key: Id, what: string) => void) | undefined;

  onPut(node: Id, record: StoredRecord): void {
    this.trace?.(record.key, `put ${node.slice(0, 6)} v${stampOf(record)[1]}`);
    const held: Held = { stamp: stampOf(record), bytes: encode(contentOf(record)).length };
    let m = this.holdings.get(record.key);
    if (!m) this.holdings.set(record.key, (m = new Map()));
    m.set(node, held);
    let keys = this.byNode.get(node);
    if (!keys) this.byNode.set(node, (keys = new Set()));
    keys.add(record.key);
  }

  onDelete(node: Id, key: Id): void {
    this.trace?.(key, `del ${node.slice(0, 6)}`);
    this.holdings.get(key)?.delete(node);
    this.byNode.get(node)?.delete(key);
  }

  keysOf(node: Id): Set<Id> {
    return this.byNode.get(node) ?? new Set();
  }

  held(key: Id, node: Id): Held | undefined {
    return this.holdings.get(key)?.get(node);
  }

  /** Whether node holds key's latest acknowledged write (or newer). */
  holdsAcked(key: Id, node: Id): boolean {
    const stamp = this.ackedStamp(key);
    const held = this.held(key, node);
    return stamp !== null && held !== undefined && compareStamp(held.stamp, stamp) >= 0;
  }

  /** Live nodes whose replica of key is at least `stamp` (null: any replica). */
  liveReplicas(key: Id, stamp: Stamp | null): number {
    let n = 0;
    for (const [node, held] of this.holdings.get(key) ?? []) {
      if (this.isAlive(node) && (!stamp || compareStamp(held.stamp, stamp) >= 0)) n++;
    }
    return n;
  }

  /** The newest stamp any live node holds for key. */
  newestLive(key: Id): Stamp | null {
    let best: Stamp | null = null;
    for (const [node, held] of this.holdings.get(key) ?? []) {
      if (this.isAlive(node) && (!best || compareStamp(held.stamp, best) > 0)) best = held.stamp;
    }
    return best;
  }

  stateOf(key: Id): KeyState {
    let s = this.keys.get(key);
    if (!s) this.keys.set(key, (s = { acked: null, maybe: [], busy: false }));
    return s;
  }

  ackedStamp(key: Id): Stamp | null {
    return this.keys.get(key)?.acked?.stamp ?? null;
  }

  /** Live replicas of key's latest acknowledged write (or something newer). */
  liveAckedReplicas(key: Id): number {
    return this.liveReplicas(key, this.ackedStamp(key));
  }

  /** Keys with an acknowledged write of which no live node holds that write or a newer one. */
  lostKeys(): Id[] {
    const lost: Id[] = [];
    for (const [key, s] of this.keys) if (s.acked && this.liveAckedReplicas(key) === 0) lost.push(key);
    return lost;
  }

  /** Keys with an acknowledged write that have fewer than r live replicas of it (lost ones too, unless told). */
  underReplicated(includeLost = true): Id[] {
    const out: Id[] = [];
    for (const [key, s] of this.keys) {
      if (!s.acked) continue;
      const live = this.liveAckedReplicas(key);
      if (live < this.r && (includeLost || live > 0)) out.push(key);
    }
    return out;
  }

  /**
   * Keys whose r true holders do not all hold the same record, the newest any live node holds (what
   * "all replicas agree" means once churn has stopped). Lost keys (no live replica) count unless told.
   */
  disagreeing(includeLost = true): Id[] {
    const out: Id[] = [];
    for (const [key, s] of this.keys) {
      if (!s.acked) continue;
      const newest = this.newestLive(key);
      if (!includeLost && (newest === null || this.liveAckedReplicas(key) === 0)) continue;
      const ok = newest !== null && this.trueHolders(key).every((id) => {
        const held = this.held(key, id);
        return held !== undefined && compareStamp(held.stamp, newest) === 0;
      });
      if (!ok) out.push(key);
    }
    return out;
  }

  /** Bytes of key's record as last seen in any store (0 if none). */
  byteSizeOf(key: Id): number {
    for (const held of this.holdings.get(key)?.values() ?? []) return held.bytes;
    return 0;
  }
}

export function matches(value: Uint8Array | null, state: KeyState): boolean {
  if (!state.acked) return value === null || state.maybe.some((m) => sameBytes(m, value));
  if (value === null) return false;
  return sameBytes(value, state.acked.value) || state.maybe.some((m) => sameBytes(m, value));
}
