// An ideal overlay for storage tests: every node knows every live node, calls are dispatched to the
// target's MethodTable asynchronously (through the wire codec, so no object is shared), and the test
// kills and adds nodes and the network emits neighbourhood and death events as a real overlay would.
import { decode, encode } from '../../../src/core/codec.ts';
import { Emitter } from '../../../src/core/emitter.ts';
import { SelfmeshError, errorMessage, isSelfmeshError } from '../../../src/core/errors.ts';
import { Counters } from '../../../src/core/counters.ts';
import { type Id, sortByDistance } from '../../../src/core/id.ts';
import { type Identity, createSimIdentity, simScheme } from '../../../src/core/identity.ts';
import { type Rng, seededRng } from '../../../src/core/rng.ts';
import type { StorageConfig } from '../../../src/storage/config.ts';
import { MemoryStore } from '../../../src/storage/memory-store.ts';
import type { ReplicaStore } from '../../../src/storage/replica-store.ts';
import { Storage } from '../../../src/storage/storage.ts';
import { ManualClock } from './manual-clock.ts';
import type { OverlayPort, OverlayPortEvents } from '../../../src/storage/overlay-port.ts';
import type { Link } from '../../../src/transport/link.ts';
import { MethodTable } from '../../../src/transport/methods.ts';

/** Return false to drop a call (it fails with UNREACHABLE, as to a dead node). */
export type CallFilter = (from: Id, to: Id, method: string) => boolean;

export class IdealPort implements OverlayPort {
  readonly methods = new MethodTable();
  readonly events = new Emitter<OverlayPortEvents>();
  calls = 0;
  /** Whether the node's join is done (a test sets it to false to play a joiner). */
  joined = (): boolean => true;

  constructor(
    readonly selfId: Id,
    private readonly net: IdealNetwork,
  ) {}

  findClosest(key: Id, n: number): Promise<Id[]> {
    return Promise.resolve(sortByDistance(key, this.net.liveIds()).slice(0, n));
  }

  call(node: Id, method: string, body: unknown): Promise<unknown> {
    this.calls++;
    return this.net.dispatch(this.selfId, node, method, body);
  }

  neighbors(): Id[] {
    return this.net.neighborsOf(this.selfId);
  }

  contacts(): Id[] {
    return this.net.liveIds().filter((id) => id !== this.selfId);
  }

  on<K extends keyof OverlayPortEvents>(type: K, listener: (event: OverlayPortEvents[K]) => void): () => void {
    return this.events.on(type, listener);
  }
}

export class IdealNetwork {
  private readonly ports = new Map<Id, IdealPort>();
  private inFlight = 0;
  filter: CallFilter = () => true;
  /** Bytes of every request and reply body, by method. */
  readonly bytesByMethod = new Map<string, number>();

  /** `k`: neighbourhood size (nodes closest to each node). */
  constructor(readonly k = 6) {}

  liveIds(): Id[] {
    return [...this.ports.keys()];
  }

  port(id: Id): IdealPort {
    const p = this.ports.get(id);
    if (!p) throw new Error(`no live node ${id.slice(0, 8)}`);
    return p;
  }

  isLive(id: Id): boolean {
    return this.ports.has(id);
  }

  neighborsOf(id: Id): Id[] {
    return sortByDistance(id, this.liveIds()).filter((x) => x !== id).slice(0, this.k);
  }

  /** Adds a node (a join); neighbours whose neighbourhood changed hear of it. */
  add(id: Id): IdealPort {
    return this.prepare(id).join();
  }

  /**
   * A port that can already be given to storage (to register its handlers) before the node joins, as
   * a composition root should do; join() makes it live and tells the neighbours.
   */
  prepare(id: Id): { port: IdealPort; join(): IdealPort } {
    const port = new IdealPort(id, this);
    return {
      port,
      join: () => {
        const before = this.snapshot();
        this.ports.set(id, port);
        this.announce(before);
        return port;
      },
    };
  }

  /** A crash: the node vanishes; its neighbours declare it dead and see their neighbourhood change. */
  kill(id: Id): void {
    const before = this.snapshot();
    const hadIt = [...this.ports.values()].filter((p) => p.selfId !== id && before.get(p.selfId)!.includes(id));
    this.ports.delete(id);
    for (const p of hadIt) p.events.emit('dead', { id });
    this.announce(before);
  }

  /** Wraps a request as a real transport would: encoded, checked against the schema, answered later. */
  async dispatch(from: Id, to: Id, method: string, body: unknown): Promise<unknown> {
    this.inFlight++;
    try {
      await Promise.resolve();
      const target = this.ports.get(to);
      if (!target || !this.ports.has(from) || !this.filter(from, to, method)) {
        throw new SelfmeshError('UNREACHABLE', `${to.slice(0, 8)} is unreachable`);
      }
      const wire = encode(body);
      this.count(method, wire.length);
      const checked = target.methods.check(method, 'request', decode(wire));
      if (!checked.ok) throw new SelfmeshError('BAD_MESSAGE', checked.reason);
      let result: unknown;
      try {
        result = await checked.handler(checked.body, { from, link: stubLink(from) });
      } catch (e) {
        throw isSelfmeshError(e) ? new SelfmeshError(e.code, e.message) : new SelfmeshError('INTERNAL', errorMessage(e));
      }
      if (!this.ports.has(from) || !this.ports.has(to)) throw new SelfmeshError('UNREACHABLE', 'node died during the call');
      const reply = encode(result);
      this.count(method, reply.length);
      return decode(reply);
    } finally {
      this.inFlight--;
    }
  }

  get pendingCalls(): number {
    return this.inFlight;
  }

  private count(method: string, bytes: number): void {
    this.bytesByMethod.set(method, (this.bytesByMethod.get(method) ?? 0) + bytes);
  }

  private snapshot(): Map<Id, Id[]> {
    return new Map(this.liveIds().map((id) => [id, this.neighborsOf(id)]));
  }

  private announce(before: Map<Id, Id[]>): void {
    for (const [id, port] of this.ports) {
      const old = new Set(before.get(id) ?? []);
      const now = this.neighborsOf(id);
      const added = now.filter((x) => !old.has(x));
      const removed = [...old].filter((x) => !now.includes(x));
      if (added.length || removed.length) port.events.emit('neighborhood', { added, removed });
    }
  }
}

function stubLink(remoteId: Id): Link {
  return {
    remoteId, via: 'direct', isOpen: true, bufferedAmount: 0,
    send: () => undefined, close: () => undefined, on: () => () => undefined,
  };
}

// ---- a cluster of Storage nodes over the ideal overlay ----

export interface ClusterNode {
  id: Id;
  storage: Storage;
  store: ReplicaStore;
  identity: Identity;
  port: IdealPort;
  counters: Counters;
}

export interface ClusterOptions {
  config?: Partial<StorageConfig>;
  seed?: number;
  k?: number;
}

export class Cluster {
  readonly net: IdealNetwork;
  readonly clock = new ManualClock();
  readonly nodes = new Map<Id, ClusterNode>();
  readonly rng: Rng;

  constructor(private readonly options: ClusterOptions = {}) {
    this.net = new IdealNetwork(options.k ?? 6);
    this.rng = seededRng(options.seed ?? 1);
  }

  static async create(n: number, options: ClusterOptions = {}): Promise<Cluster> {
    const c = new Cluster(options);
    for (let i = 0; i < n; i++) await c.add();
    await c.settle();
    return c;
  }

  /** Starts a node; with `reuse` it comes back with the same identity and store (a reloaded tab). */
  async add(reuse?: { identity: Identity; store: ReplicaStore }): Promise<ClusterNode> {
    const identity = reuse?.identity ?? createSimIdentity(this.rng);
    const store = reuse?.store ?? new MemoryStore();
    const { port, join } = this.net.prepare(identity.id);
    const counters = new Counters();
    const storage = new Storage({
      port, store, identity, scheme: simScheme, clock: this.clock, rng: this.rng, counters,
      config: { antiEntropyMs: 0, ...this.options.config },
    });
    await storage.start();
    join();
    const node = { id: identity.id, storage, store, identity, port, counters };
    this.nodes.set(identity.id, node);
    return node;
  }

  kill(id: Id): ClusterNode {
    const node = this.nodes.get(id)!;
    node.storage.stop();
    this.nodes.delete(id);
    this.net.kill(id);
    return node;
  }

  node(id: Id): ClusterNode {
    return this.nodes.get(id)!;
  }

  any(): ClusterNode {
    return [...this.nodes.values()][0]!;
  }

  /** A node that is not among the first `n` holders of key (a client far from the key). */
  outsider(key: Id, n = 5): ClusterNode {
    const near = new Set(sortByDistance(key, this.nodes.keys()).slice(0, n));
    return [...this.nodes.values()].find((x) => !near.has(x.id))!;
  }

  closest(key: Id, n: number): Id[] {
    return sortByDistance(key, this.nodes.keys()).slice(0, n);
  }

  holdersOf(key: Id): Id[] {
    return [...this.nodes.values()].filter((x) => x.storage.holds(key)).map((x) => x.id);
  }

  /** Waits until every node is idle and no call is in flight (a condition, not a fixed sleep). */
  async settle(): Promise<void> {
    for (let round = 0; round < 10_000; round++) {
      await Promise.all([...this.nodes.values()].map((x) => x.storage.whenIdle()));
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.net.pendingCalls === 0 && [...this.nodes.values()].every((x) => !x.storage.busy)) return;
    }
    throw new Error('cluster did not settle');
  }

  /** Advances the manual clock in steps, settling after each (timers start work that must finish). */
  async advance(ms: number, step = 1_000): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      this.clock.advance(Math.min(step, ms - t));
      await this.settle();
    }
  }
}
