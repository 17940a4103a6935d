// A simulated room of whole SelfmeshNodes (real overlay, real storage over MemoryStore, simScheme), and
// the storage oracle the tests and the benchmark read: which node holds which version of every key
// (every store write and delete is observed), the latest acknowledged write of every key, how many live
// replicas of it exist, and how long a dead holder's keys took to get back to r replicas.
import { encode } from '../src/core/codec.ts';
import { every } from '../src/core/clock.ts';
import { commonPrefixLength, type Id } from '../src/core/id.ts';
import { SelfmeshNode } from '../src/node.ts';
import type { OverlayConfig } from '../src/overlay/config.ts';
import type { StorageConfig } from '../src/storage/config.ts';
import { MemoryStore } from '../src/storage/memory-store.ts';
import { topClosest } from '../src/storage/placement.ts';
import { compareStamp, contentOf, makeVersioned, stampOf, type Stamp, type StoredRecord } from '../src/storage/records.ts';
import type { MemoryNetworkOptions } from '../src/transport/memory-link.ts';
import { SimWorld, simNodeParts, type SimNode } from './world.ts';

/** One replica as the oracle saw it land in a node's store. */
interface Held {
  stamp: Stamp;
  /** Encoded size of the record's content: what the storage meters count when it moves. */
  bytes: number;
}

/** A store that reports every write and delete to the oracle (after it happened). */
class ObservedStore extends MemoryStore {
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
interface KeyState {
  acked: { value: Uint8Array; stamp: Stamp } | null;
  /** Values of writes after the latest ack that failed: they may or may not have landed somewhere. */
  maybe: Uint8Array[];
  busy: boolean;
}

/** Repair of one dead holder: the keys whose live replicas dropped below r because it died. */
interface PendingRepair {
  node: Id;
  at: number;
  keys: Set<Id>;
}

export interface DepartureRecord {
  node: Id;
  at: number;
  how: 'crash' | 'close' | 'leave';
  /** Keys whose last live replica of the latest acknowledged write died with it. */
  lostKeys: number;
  /** The fewest live replicas any affected key had left right after the departure. */
  minReplicasLeft: number;
  /** Deaths whose repair was still pending when this one happened. */
  pendingBefore: number;
  /**
   * For each key lost here: seconds since the earliest departure still unrepaired for it, i.e. how fast
   * all r holders went (a window shorter than repair is beyond what any r-replica store survives).
   */
  lostWindows: number[];
}

export class StorageOracle {
  /** key → node → what that node's store holds. */
  readonly holdings = new Map<Id, Map<Id, Held>>();
  /** node → keys it holds (for departures). */
  private readonly byNode = new Map<Id, Set<Id>>();

  constructor(private readonly isAlive: (node: Id) => boolean) {}

  onPut(node: Id, record: StoredRecord): void {
    const held: Held = { stamp: stampOf(record), bytes: encode(contentOf(record)).length };
    let m = this.holdings.get(record.key);
    if (!m) this.holdings.set(record.key, (m = new Map()));
    m.set(node, held);
    let keys = this.byNode.get(node);
    if (!keys) this.byNode.set(node, (keys = new Set()));
    keys.add(record.key);
  }

  onDelete(node: Id, key: Id): void {
    this.holdings.get(key)?.delete(node);
    this.byNode.get(node)?.delete(key);
  }

  keysOf(node: Id): Set<Id> {
    return this.byNode.get(node) ?? new Set();
  }

  held(key: Id, node: Id): Held | undefined {
    return this.holdings.get(key)?.get(node);
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
}

export interface StorageWorldOptions {
  seed: number;
  storage?: Partial<StorageConfig>;
  overlay?: Partial<OverlayConfig>;
  network?: Partial<Omit<MemoryNetworkOptions, 'clock' | 'rng' | 'trace'>>;
  /** Hash every frame into the trace (off by default here: storage runs move many frames). */
  traceFrames?: boolean;
  /** Bytes of each written value. */
  valueBytes?: number;
  /** How often (virtual ms) pending repairs are checked; the resolution of repair times. */
  repairCheckMs?: number;
}

export interface OpStats {
  putsAcked: number;
  putsFailed: number;
  getsOk: number;
  getsFailed: number;
  /** Reads that returned something other than the latest acknowledged value (or a later unacked one). */
  getsWrong: number;
  putMs: number[];
  getMs: number[];
}

/** A SimWorld whose nodes are SelfmeshNodes, plus the oracle and the workload helpers. */
export class StorageWorld {
  readonly world: SimWorld;
  readonly oracle: StorageOracle;
  readonly r: number;
  readonly keys = new Map<Id, KeyState>();
  readonly ops: OpStats = { putsAcked: 0, putsFailed: 0, getsOk: 0, getsFailed: 0, getsWrong: 0, putMs: [], getMs: [] };
  readonly departures: DepartureRecord[] = [];
  /** Seconds from a holder's death until every key it left below r replicas had r again. */
  readonly repairSeconds: number[] = [];
  /** Bytes of the replicas that departures left missing (what repair must recreate at least). */
  lostReplicaBytes = 0;
  /** Bytes of the replicas that joiners should take over (they became one of the r closest to a key). */
  joinPlacementBytes = 0;
  /** Every node ever built, for meters (dead nodes' meters count too). */
  readonly selfmesh = new Map<Id, SelfmeshNode>();
  private readonly pending: PendingRepair[] = [];
  private readonly valueBytes: number;
  private writes = 0;
  private sorted: { stamp: string; ids: Id[] } | undefined;
  private stopRepairCheck: () => void = () => undefined;

  constructor(options: StorageWorldOptions) {
    const storageConfig = options.storage ?? {};
    this.r = storageConfig.r ?? 3;
    this.valueBytes = options.valueBytes ?? 64;
    this.oracle = new StorageOracle((id) => this.world.nodes.get(id)?.alive === true);
    this.world = new SimWorld({
      seed: options.seed,
      config: options.overlay,
      network: options.network,
      traceFrames: options.traceFrames ?? false,
      createNode: (parts) => {
        const node = new SelfmeshNode(simNodeParts(parts, new ObservedStore(parts.identity.id, this.oracle), storageConfig));
        this.selfmesh.set(node.id, node);
        return { overlay: node.overlay, app: node, start: () => node.start(), halt: () => node.storage.stop() };
      },
    });
    this.stopRepairCheck = every(this.sim, options.repairCheckMs ?? 1_000, () => this.checkRepairs());
  }

  get sim() {
    return this.world.sim;
  }

  node(id: Id): SelfmeshNode {
    return this.selfmesh.get(id)!;
  }

  /** A random live joined node, as a SelfmeshNode. */
  randomNode(): SelfmeshNode {
    return this.node(this.world.randomJoined()!.id);
  }

  isAlive(id: Id): boolean {
    return this.world.nodes.get(id)?.alive === true;
  }

  /** The r live joined nodes truly closest to key. */
  trueHolders(key: Id, n = this.r): Id[] {
    // The n closest by XOR share the longest prefix with key: among the live ids in sorted order, those
    // with a given prefix are contiguous, so only the narrowest prefix range holding n of them is scanned.
    const sorted = this.sortedLive();
    const lowerBound = (x: string) => {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    let from = 0;
    let to = sorted.length;
    for (let len = 1; len <= 64; len++) {
      const prefix = key.slice(0, len);
      const a = lowerBound(prefix);
      const b = lowerBound(prefix + 'g');
      if (b - a < n) break;
      from = a;
      to = b;
    }
    return topClosest(key, sorted.slice(from, to), n);
  }

  /** Live joined ids in sorted order, rebuilt when anything may have changed since the last call. */
  private sortedLive(): Id[] {
    const stamp = `${this.sim.eventsRun}/${this.sim.now()}/${this.world.liveJoined.length}`;
    if (this.sorted?.stamp !== stamp) this.sorted = { stamp, ids: [...this.world.liveJoined].sort() };
    return this.sorted.ids;
  }

  ackedStamp(key: Id): Stamp | null {
    return this.keys.get(key)?.acked?.stamp ?? null;
  }

  /** Live replicas of key's latest acknowledged write (or something newer). */
  liveReplicas(key: Id): number {
    return this.oracle.liveReplicas(key, this.ackedStamp(key));
  }

  /** Keys with an acknowledged write of which no live node holds that write or a newer one. */
  lostKeys(): Id[] {
    const lost: Id[] = [];
    for (const [key, s] of this.keys) if (s.acked && this.liveReplicas(key) === 0) lost.push(key);
    return lost;
  }

  /** Keys with an acknowledged write that have fewer than r live replicas of it (lost ones too, unless told). */
  underReplicated(includeLost = true): Id[] {
    const out: Id[] = [];
    for (const [key, s] of this.keys) {
      if (!s.acked) continue;
      const live = this.liveReplicas(key);
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
      const newest = this.oracle.newestLive(key);
      if (!includeLost && (newest === null || this.liveReplicas(key) === 0)) continue;
      const ok = newest !== null && this.trueHolders(key).every((id) => {
        const held = this.oracle.held(key, id);
        return held !== undefined && compareStamp(held.stamp, newest) === 0;
      });
      if (!ok) out.push(key);
    }
    return out;
  }

  /** Deaths whose keys are not yet back to r replicas. */
  get pendingRepairs(): number {
    return this.pending.length;
  }

  /** Sum of the storage meters over every node built so far. */
  meters(): { repairBytes: number; readRepairBytes: number; controlBytes: number; recordsMoved: number } {
    const m = { repairBytes: 0, readRepairBytes: 0, controlBytes: 0, recordsMoved: 0 };
    for (const node of this.selfmesh.values()) {
      const s = node.storage.stats();
      m.repairBytes += s.repairBytes;
      m.readRepairBytes += s.readRepairBytes;
      m.controlBytes += s.controlBytes;
      m.recordsMoved += s.recordsMoved;
    }
    return m;
  }

  /** A key that has no operation in flight (random among `keys`), or undefined. */
  idleKey(keys: readonly Id[]): Id | undefined {
    for (let tries = 0; tries < 8; tries++) {
      const key = keys[this.world.rng.int(keys.length)]!;
      if (!this.keys.get(key)?.busy) return key;
    }
    return undefined;
  }

  /** Writes a fresh value under key from a random live node; one operation per key at a time. */
  async put(key: Id, from: SelfmeshNode = this.randomNode()): Promise<boolean> {
    const state = this.stateOf(key);
    if (state.busy) throw new Error(`key ${key.slice(0, 8)} already has an operation in flight`);
    state.busy = true;
    const value = this.valueFor(key, this.writes++);
    const t0 = this.sim.now();
    try {
      const version = await from.storage.put(key, value);
      this.ops.putMs.push(this.sim.now() - t0);
      this.ops.putsAcked++;
      state.acked = { value, stamp: stampOf(makeVersioned(key, version, value)) };
      state.maybe = [];
      return true;
    } catch {
      this.ops.putsFailed++;
      state.maybe.push(value);
      return false;
    } finally {
      state.busy = false;
    }
  }

  /**
   * Reads key from a random live node and checks the answer: the latest acknowledged value, or a value
   * written after it whose write failed (it may have reached replicas). Returns whether it was right.
   */
  async get(key: Id, from: SelfmeshNode = this.randomNode()): Promise<'ok' | 'wrong' | 'failed'> {
    const state = this.stateOf(key);
    if (state.busy) throw new Error(`key ${key.slice(0, 8)} already has an operation in flight`);
    state.busy = true;
    const t0 = this.sim.now();
    try {
      const value = await from.storage.get(key);
      this.ops.getMs.push(this.sim.now() - t0);
      const right = matches(value, state);
      if (right) this.ops.getsOk++;
      else this.ops.getsWrong++;
      return right ? 'ok' : 'wrong';
    } catch {
      this.ops.getsFailed++;
      return 'failed';
    } finally {
      state.busy = false;
    }
  }

  /**
   * Runs `count` operations, `perSecond` of them, each started at its time on an idle key, and waits
   * (bounded, in virtual time) until all settled. `op` picks what to do for the i-th operation.
   */
  async drive(count: number, perSecond: number, op: (i: number) => Promise<unknown> | undefined, maxWaitMs = 120_000): Promise<void> {
    let started = 0;
    let settled = 0;
    const gap = 1000 / perSecond;
    for (let i = 0; i < count; i++) {
      this.sim.setTimeout(() => {
        const p = op(i);
        if (!p) return;
        started++;
        void p.finally(() => settled++);
      }, Math.floor(i * gap));
    }
    await this.sim.runFor(Math.ceil(count * gap));
    const ok = await this.sim.runUntil(() => settled >= started, maxWaitMs, 100);
    if (!ok) throw new Error(`${started - settled} of ${started} operations did not settle within ${maxWaitMs} ms`);
  }

  /** A node departs: a silent crash, a crash whose links close (a closed tab), or the leave protocol. */
  async depart(id: Id, how: DepartureRecord['how']): Promise<DepartureRecord> {
    const pendingBefore = this.pending.length;
    const at = this.sim.now();
    const held = [...this.oracle.keysOf(id)];
    if (how === 'leave') {
      await this.world.leave(id);
      // world.leave stops the overlay, not what the node built on it.
      this.world.nodes.get(id)?.halt?.();
    } else {
      this.world.crash(id, how === 'crash');
    }
    const record: DepartureRecord = { node: id, at, how, lostKeys: 0, minReplicasLeft: Infinity, pendingBefore, lostWindows: [] };
    const repair: PendingRepair = { node: id, at: this.sim.now(), keys: new Set() };
    for (const key of held) {
      const stamp = this.ackedStamp(key);
      const h = this.oracle.held(key, id);
      if (!stamp || !h || compareStamp(h.stamp, stamp) < 0) continue;
      const left = this.liveReplicas(key);
      record.minReplicasLeft = Math.min(record.minReplicasLeft, left);
      if (left === 0) {
        record.lostKeys++;
        const first = this.pending.find((p) => p.keys.has(key));
        record.lostWindows.push(first ? (at - first.at) / 1000 : 0);
      }
      if (left < this.r) {
        repair.keys.add(key);
        this.lostReplicaBytes += h.bytes;
      }
    }
    if (repair.keys.size > 0) this.pending.push(repair);
    this.departures.push(record);
    return record;
  }

  /** Adds a node and waits (bounded) until it has joined; counts what it should take over. */
  async join(maxMs = 120_000): Promise<SimNode> {
    const node = this.world.addNode();
    await this.world.sim.settle(this.startJoin(node), maxMs);
    return node;
  }

  /** Starts a node's join; once joined, the records it should hold are counted as join placement. */
  startJoin(node: SimNode): Promise<void> {
    return this.world.startJoin(node).then(() => {
      if (!node.joined) return;
      // Only keys sharing a long prefix with the joiner can have it among their r closest (a key that
      // shares fewer bits has, in expectation, many nodes closer than the joiner).
      const minPrefix = Math.max(0, Math.floor(Math.log2(this.world.liveJoined.length / this.r)) - 4);
      for (const [key, s] of this.keys) {
        if (!s.acked || commonPrefixLength(key, node.id) < minPrefix) continue;
        if (this.trueHolders(key).includes(node.id)) this.joinPlacementBytes += this.byteSizeOf(key);
      }
    });
  }

  /** Stops the periodic repair check (the world keeps running). */
  close(): void {
    this.stopRepairCheck();
  }

  private byteSizeOf(key: Id): number {
    for (const held of this.oracle.holdings.get(key)?.values() ?? []) return held.bytes;
    return 0;
  }

  private checkRepairs(): void {
    for (let i = 0; i < this.pending.length; ) {
      const p = this.pending[i]!;
      for (const key of p.keys) {
        // A key with no live replica left cannot be repaired: it counts as lost, not as a slow repair.
        const live = this.liveReplicas(key);
        if (live >= this.r || live === 0) p.keys.delete(key);
      }
      if (p.keys.size === 0) {
        this.repairSeconds.push((this.sim.now() - p.at) / 1000);
        this.pending.splice(i, 1);
      } else i++;
    }
  }

  private stateOf(key: Id): KeyState {
    let s = this.keys.get(key);
    if (!s) this.keys.set(key, (s = { acked: null, maybe: [], busy: false }));
    return s;
  }

  private valueFor(key: Id, n: number): Uint8Array {
    const out = new Uint8Array(this.valueBytes);
    out.set(new TextEncoder().encode(`${key.slice(0, 8)}:${n}:`).subarray(0, this.valueBytes));
    return out;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function matches(value: Uint8Array | null, state: KeyState): boolean {
  if (!state.acked) return value === null || state.maybe.some((m) => sameBytes(m, value));
  if (value === null) return false;
  return sameBytes(value, state.acked.value) || state.maybe.some((m) => sameBytes(m, value));
}
