// A simulated room: nodes running the real overlay over the MemoryNetwork, a stand-in signaling server
// for their first links, and the oracle (who is alive, who is truly closest to a key) that tests use.
import { Counters } from '../src/core/counters.ts';
import { compareDistance, type Id } from '../src/core/id.ts';
import { createSimIdentity, simScheme, type Identity } from '../src/core/identity.ts';
import { seededRng, type Rng } from '../src/core/rng.ts';
import type { Link } from '../src/transport/link.ts';
import { MemoryConnector } from '../src/transport/memory-connector.ts';
import { MemoryNetwork, type MemoryNetworkOptions } from '../src/transport/memory-link.ts';
import type { OverlayConfig } from '../src/overlay/config.ts';
import { Overlay, type Bootstrap } from '../src/overlay/overlay.ts';
import * as v from 'valibot';
import type { NodeParts } from '../src/node.ts';
import type { StorageConfig } from '../src/storage/config.ts';
import type { ReplicaStore } from '../src/storage/replica-store.ts';
import { Simulator, TraceHash } from './simulator.ts';

export const LOOKUP_METHOD = 'sim.lookup';

/** What a world needs to build one node: by default a bare Overlay, or a whole SelfmeshNode. */
export interface NodeFactoryParts {
  identity: Identity;
  connector: MemoryConnector;
  clock: Simulator;
  rng: Rng;
  counters: Counters;
  bootstrap: Bootstrap;
  config?: Partial<OverlayConfig>;
}

export type NodeFactory = (parts: NodeFactoryParts) => { overlay: Overlay; app?: unknown; start?: () => Promise<void>; halt?: () => void };

export interface SimNode {
  readonly id: Id;
  readonly identity: Identity;
  readonly overlay: Overlay;
  /** What the factory built around the overlay (a SelfmeshNode in storage scenarios). */
  readonly app?: unknown;
  readonly start?: () => Promise<void>;
  /** Stops what the factory built (timers of the layers above the overlay) without closing links. */
  readonly halt?: () => void;
  readonly counters: Counters;
  alive: boolean;
  joined: boolean;
  createdAt: number;
}

export interface WorldOptions {
  seed: number;
  config?: Partial<OverlayConfig>;
  network?: Partial<Omit<MemoryNetworkOptions, 'clock' | 'rng' | 'trace'>>;
  /** Hash every frame into the trace (costs a little; on by default). */
  traceFrames?: boolean;
  /** Builds each node; by default a bare Overlay answering the sim's lookup method. */
  createNode?: NodeFactory;
}

export class SimWorld {
  readonly sim = new Simulator(1_000_000);
  readonly rng: Rng;
  readonly network: MemoryNetwork;
  readonly trace = new TraceHash();
  readonly nodes = new Map<Id, SimNode>();
  /** Joined and alive, for O(1) random picks (swap-remove). */
  protected joinedIds: Id[] = [];
  private joinedIndex = new Map<Id, number>();
  protected connectors = new Map<Id, MemoryConnector>();

  constructor(protected readonly options: WorldOptions) {
    this.rng = seededRng(options.seed);
    const trace = options.traceFrames === false ? undefined : (kind: string, a: Id, b: Id, n: number) =>
      this.trace.add(kind, this.sim.now(), parseInt(a.slice(0, 8), 16), parseInt(b.slice(0, 8), 16), n);
    this.network = new MemoryNetwork({ clock: this.sim, rng: seededRng(this.rng.int(2 ** 32)), trace, ...options.network });
  }

  get liveJoined(): readonly Id[] {
    return this.joinedIds;
  }

  randomJoined(): SimNode | undefined {
    if (this.joinedIds.length === 0) return undefined;
    return this.nodes.get(this.joinedIds[this.rng.int(this.joinedIds.length)]!);
  }

  randomKey(): Id {
    return Array.from(this.rng.bytes(32), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  /** The live joined node closest to key (the one that should answer a route to key). */
  trueClosest(key: Id): Id | undefined {
    let best: Id | undefined;
    for (const id of this.joinedIds) if (best === undefined || compareDistance(key, id, best) < 0) best = id;
    return best;
  }

  connectorOf(id: Id): MemoryConnector | undefined {
    return this.connectors.get(id);
  }

  /** Creates a node (not yet joined); by default with an identity and a random stream drawn from the world's. */
  addNode(identity = createSimIdentity(this.rng), nodeSeed = this.rng.int(2 ** 32)): SimNode {
    const nodeRng = seededRng(nodeSeed);
    const counters = new Counters();
    this.network.addNode(identity.id);
    const connector = new MemoryConnector({ network: this.network, identity, scheme: simScheme, clock: this.sim, rng: nodeRng });
    this.connectors.set(identity.id, connector);
    const node: SimNode = {
      id: identity.id, identity, counters, alive: true, joined: false, createdAt: this.sim.now(),
      overlay: undefined as unknown as Overlay,
    };
    const bootstrap = this.bootstrapFor(node, connector);
    const built = this.options.createNode
      ? this.options.createNode({ identity, connector, clock: this.sim, rng: nodeRng, counters, bootstrap, config: this.options.config })
      : {
          overlay: new Overlay({
            identity, scheme: simScheme, connector, clock: this.sim, rng: nodeRng, counters, config: this.options.config, bootstrap,
          }),
        };
    const overlay = built.overlay;
    // The oracle judges a lookup when it is delivered: the node answering must be the live node closest
    // to the key at that moment (the membership may change again while the reply travels back). A node
    // whose join is finishing (it told its links it is ready, join() has not resolved) may answer too,
    // if it is closer than every joined node: that is the handover, not a routing error.
    overlay.registerRouted(LOOKUP_METHOD, v.null(), (_body, ctx) => {
      const truth = this.trueClosest(ctx.key);
      if (truth === node.id) return true;
      const handingOver = node.alive && !node.joined && overlay.joined;
      return handingOver && (truth === undefined || compareDistance(ctx.key, node.id, truth) < 0);
    });
    Object.assign(node, { overlay, app: built.app, start: built.start, halt: built.halt });
    this.nodes.set(node.id, node);
    return node;
  }

  /** Starts a node's join; it counts as joined (for the oracle) once join() resolves. */
  startJoin(node: SimNode): Promise<void> {
    const done = (node.start ? node.start() : node.overlay.join()).then(
      () => {
        if (!node.alive) return;
        node.joined = true;
        this.joinedIndex.set(node.id, this.joinedIds.length);
        this.joinedIds.push(node.id);
        this.trace.add('joined', this.sim.now(), parseInt(node.id.slice(0, 8), 16));
      },
      (e: unknown) => {
        this.trace.add('joinFailed', this.sim.now());
        node.counters.inc('sim.joinFailed');
        void e;
      },
    );
    return done;
  }

  /** The node stops: silently (power loss) or with its links closed the way a closed tab closes them. */
  crash(id: Id, silent = true): void {
    const node = this.nodes.get(id);
    if (!node || !node.alive) return;
    this.markGone(node);
    node.overlay.stop(false);
    node.halt?.();
    this.network.crash(id, silent);
  }

  /** The node leaves on purpose (leave protocol, then its links close). */
  async leave(id: Id): Promise<void> {
    const node = this.nodes.get(id);
    if (!node || !node.alive) return;
    this.markGone(node);
    await node.overlay.leave(1_000);
    this.network.crash(id, false);
  }

  private markGone(node: SimNode): void {
    node.alive = false;
    this.trace.add('gone', this.sim.now(), parseInt(node.id.slice(0, 8), 16));
    const i = this.joinedIndex.get(node.id);
    if (i === undefined) return;
    const last = this.joinedIds.pop()!;
    if (last !== node.id) {
      this.joinedIds[i] = last;
      this.joinedIndex.set(last, i);
    }
    this.joinedIndex.delete(node.id);
  }

  /**
   * The stand-in signaling server: relays the signed offer to a member of the room (any joined node, or
   * the asked-for targets) and its answer back, one network latency each way through the server.
   */
  protected bootstrapFor(node: SimNode, connector: MemoryConnector): Bootstrap {
    return async ({ count, targets }) => {
      const picks = new Set<Id>();
      if (targets) for (const t of targets) if (this.isMember(t)) picks.add(t);
      for (let tries = 0; !targets && picks.size < Math.min(count, this.joinedCount()) && tries < 4 * count; tries++) {
        const pick = this.randomJoinedId();
        if (pick !== undefined && pick !== node.id) picks.add(pick);
      }
      const links = await Promise.all([...picks].map((to) => this.serverLink(node, connector, to)));
      return links.filter((l): l is Link => l !== null);
    };
  }

  /** The server's view of the room: whether `id` is in it, how many have joined, one of them at random. */
  protected isMember(id: Id): boolean {
    return this.nodes.get(id)?.alive === true;
  }

  protected joinedCount(): number {
    return this.joinedIds.length;
  }

  protected randomJoinedId(): Id | undefined {
    return this.joinedIds.length === 0 ? undefined : this.joinedIds[this.rng.int(this.joinedIds.length)];
  }

  protected async serverLink(node: SimNode, connector: MemoryConnector, to: Id): Promise<Link | null> {
    const target = this.nodes.get(to)!;
    const relay = () => new Promise<void>((resolve) => this.sim.setTimeout(resolve, 2 * this.network.sampleLatency()));
    const offer = await connector.offer(to, 'server');
    try {
      await relay();
      if (!target.alive) throw new Error('gone');
      const answered = await this.connectors.get(to)!.answer(offer.envelope, 'server');
      answered.link.then((link) => target.overlay.addLink(link), () => undefined);
      await relay();
      connector.complete(answered.envelope);
      return await offer.link;
    } catch {
      offer.cancel();
      return null;
    }
  }
}

/** The parts of a whole SelfmeshNode in a simulated room: the world's pieces plus a replica store. */
export function simNodeParts(parts: NodeFactoryParts, store: ReplicaStore, storage?: Partial<StorageConfig>): NodeParts {
  return {
    identity: parts.identity,
    scheme: simScheme,
    clock: parts.clock,
    rng: parts.rng,
    connector: parts.connector,
    store,
    bootstrap: parts.bootstrap,
    overlay: parts.config,
    storage,
    counters: parts.counters,
  };
}
