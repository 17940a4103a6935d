// A simulated room of whole SelfmeshNodes (real overlay, real storage over ObservedStores, simScheme),
// with the storage oracle (storage-oracle.ts) watching every store, the read/write workload helpers, and
// departures: what each one left below r replicas and how long those keys took to get back to r.
import { every } from '../src/core/clock.ts';
import { commonPrefixLength, type Id } from '../src/core/id.ts';
import { SelfmeshNode } from '../src/node.ts';
import type { OverlayConfig } from '../src/overlay/config.ts';
import type { StorageConfig } from '../src/storage/config.ts';
import { topClosest } from '../src/storage/placement.ts';
import { makeVersioned, stampOf, type Stamp } from '../src/storage/records.ts';
import type { MemoryNetworkOptions } from '../src/transport/memory-link.ts';
import { PolicyPlacement } from './policy-placement.ts';
import { MoveAudit } from './storage-audit.ts';
import { ObservedStore, StorageOracle, matches, type KeyState } from './storage-oracle.ts';
import { SimWorld, simNodeParts, type SimNode } from './world.ts';

export { StorageOracle } from './storage-oracle.ts';

/** Repair of one dead holder: the keys whose live replicas dropped below r because it died. */
interface PendingRepair {
  node: Id;
  at: number;
  how: DepartureRecord['how'];
  keys: Set<Id>;
  /** Live replicas each key had left right after this death. */
  left: Map<Id, number>;
  /** The replicas each key should have (the holders' replication policy at the death). */
  need: Map<Id, number>;
}

/** A key whose last live replica died: the unrepaired deaths that led there, oldest first. */
export interface LostChain {
  key: Id;
  deaths: Array<{ how: DepartureRecord['how']; at: number; left: number }>;
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
  /** Record every record move (handoff, anti-entropy, read repair) for `audit()` (costs memory). */
  audit?: boolean;
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
  /** The oracle's per-key state: the latest acknowledged write, later unacknowledged ones, busy. */
  readonly keys: Map<Id, KeyState>;
  readonly ops: OpStats = { putsAcked: 0, putsFailed: 0, getsOk: 0, getsFailed: 0, getsWrong: 0, putMs: [], getMs: [] };
  readonly departures: DepartureRecord[] = [];
  /** Keys some departure took the last live replica of (their acknowledged write may be newer since). */
  readonly lostByDeparture = new Set<Id>();
  readonly lostChains: LostChain[] = [];
  /** With `audit`: where every moved record went (see storage-audit.ts). */
  readonly moves: MoveAudit | undefined;
  /** Seconds from a holder's death until every key it left below r replicas had r again. */
  readonly repairSeconds: number[] = [];
  /** Bytes of the replicas that departures left missing (what repair must recreate at least). */
  lostReplicaBytes = 0;
  /** Bytes of the replicas that joiners should take over (they became one of the r closest to a key). */
  joinPlacementBytes = 0;
  /** The copies that rises of the replication policy's r asked for (see policy-placement.ts). */
  readonly policyPlacement: PolicyPlacement;
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
    this.oracle = new StorageOracle((id) => this.world.nodes.get(id)?.alive === true, (key) => this.trueHolders(key), this.r);
    this.keys = this.oracle.keys;
    this.world = new SimWorld({
      seed: options.seed,
      config: options.overlay,
      network: options.network,
      traceFrames: options.traceFrames ?? false,
      createNode: (parts) => {
        const node = new SelfmeshNode(simNodeParts(parts, new ObservedStore(parts.identity.id, this.oracle), storageConfig));
        this.selfmesh.set(node.id, node);
        this.moves?.watch(node);
        return { overlay: node.overlay, app: node, start: () => node.start(), halt: () => node.storage.stop() };
      },
    });
    if (options.audit) {
      const moves = new MoveAudit(() => this.sim.now(), (key) => this.trueHolders(key, this.targetReplicas(key)), (id) => this.isAlive(id));
      this.moves = moves;
      this.oracle.trace = (key, what) => moves.note(key, what);
    }
    this.policyPlacement = new PolicyPlacement({
      r: this.r,
      live: () => this.world.liveJoined,
      replicasOf: (id) => this.node(id).storage.replicas,
      ackedKeys: () => [...this.keys].filter(([, s]) => s.acked).map(([key]) => key),
      trueHolders: (key, n) => this.trueHolders(key, n),
      targetReplicas: (key) => this.targetReplicas(key),
      holdsAcked: (key, id) => this.oracle.holdsAcked(key, id),
      byteSizeOf: (key) => this.oracle.byteSizeOf(key),
    });
    this.stopRepairCheck = every(this.sim, options.repairCheckMs ?? 1_000, () => {
      this.checkRepairs();
      this.policyPlacement.check();
    });
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
    return this.oracle.ackedStamp(key);
  }

  /**
   * The replicas key should have now: the r of the replication policy at its closest live node (the
   * room's nodes raise r under churn; see src/storage/replication-policy.ts).
   */
  targetReplicas(key: Id): number {
    const closest = this.trueHolders(key, 1)[0];
    return closest ? Math.max(this.r, this.node(closest).storage.replicas) : this.r;
  }

  /** Live replicas of key's latest acknowledged write (or something newer). */
  liveReplicas(key: Id): number {
    return this.oracle.liveAckedReplicas(key);
  }

  /** Keys with an acknowledged write of which no live node holds that write or a newer one. */
  lostKeys(): Id[] {
    return this.oracle.lostKeys();
  }

  /** Keys with an acknowledged write that have fewer than r live replicas of it (lost ones too, unless told). */
  underReplicated(includeLost = true): Id[] {
    return this.oracle.underReplicated(includeLost);
  }

  /** Keys whose r true holders do not all hold the newest live record (see StorageOracle.disagreeing). */
  disagreeing(includeLost = true): Id[] {
    return this.oracle.disagreeing(includeLost);
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
      this.moves?.note(key, `acked v${version.counter}`);
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
    // A leave takes a while: a key whose last other replica dies meanwhile is taken off the pending
    // repairs as lost before this departure is looked at, so note now which repairs were pending.
    const pendingAtStart = new Map(held.map((key) => [key, this.pending.filter((p) => p.keys.has(key))]));
    // Replicas each key keeps without this node, counted before it goes: a leaver that hands its records
    // over first still took a replica away that the room had to recreate (the ideal counts it).
    const othersAtStart = new Map(held.map((key) => [key, this.liveReplicas(key) - 1]));
    if (how === 'leave') {
      await this.world.leave(id);
      // world.leave stops the overlay, not what the node built on it.
      this.world.nodes.get(id)?.halt?.();
    } else {
      this.world.crash(id, how === 'crash');
    }
    const record: DepartureRecord = { node: id, at, how, lostKeys: 0, minReplicasLeft: Infinity, pendingBefore, lostWindows: [] };
    const repair: PendingRepair = { node: id, at: this.sim.now(), how, keys: new Set(), left: new Map(), need: new Map() };
    for (const key of held) {
      this.moves?.note(key, `${how} ${id.slice(0, 6)}`);
      if (!this.oracle.holdsAcked(key, id)) continue;
      const h = this.oracle.held(key, id)!;
      const left = this.liveReplicas(key);
      record.minReplicasLeft = Math.min(record.minReplicasLeft, left);
      if (left === 0) {
        record.lostKeys++;
        this.lostByDeparture.add(key);
        const chain = [...new Set([...pendingAtStart.get(key)!, ...this.pending.filter((p) => p.keys.has(key))])].sort((a, b) => a.at - b.at);
        record.lostWindows.push(chain.length > 0 ? (at - chain[0]!.at) / 1000 : 0);
        const deaths = chain.map((p) => ({ how: p.how, at: p.at, left: p.left.get(key)! }));
        this.lostChains.push({ key, deaths: [...deaths, { how, at, left: 0 }] });
      }
      const need = this.targetReplicas(key);
      if (left < need) {
        repair.keys.add(key);
        repair.left.set(key, left);
        repair.need.set(key, need);
      }
      if (Math.min(left, othersAtStart.get(key)!) < need) {
        this.lostReplicaBytes += h.bytes;
        this.moves?.lostReplica(key);
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
        if (this.trueHolders(key, this.targetReplicas(key)).includes(node.id)) this.joinPlacementBytes += this.oracle.byteSizeOf(key);
      }
    });
  }

  /** Stops the periodic repair check (the world keeps running). */
  close(): void {
    this.stopRepairCheck();
  }

  private checkRepairs(): void {
    for (let i = 0; i < this.pending.length; ) {
      const p = this.pending[i]!;
      for (const key of p.keys) {
        // A key with no live replica left cannot be repaired: it counts as lost, not as a slow repair.
        const live = this.liveReplicas(key);
        if (live >= p.need.get(key)! || live === 0) p.keys.delete(key);
      }
      if (p.keys.size === 0) {
        this.repairSeconds.push((this.sim.now() - p.at) / 1000);
        this.pending.splice(i, 1);
      } else i++;
    }
  }

  private stateOf(key: Id): KeyState {
    return this.oracle.stateOf(key);
  }

  private valueFor(key: Id, n: number): Uint8Array {
    const out = new Uint8Array(this.valueBytes);
    out.set(new TextEncoder().encode(`${key.slice(0, 8)}:${n}:`).subarray(0, this.valueBytes));
    return out;
  }
}
