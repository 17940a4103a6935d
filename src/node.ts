// The composition root: one selfmesh node from its parts. The same code builds a node in a tab (WebRTC
// links, IndexedDB), in Node (wrtc, memory store) and in the simulator (in-memory links, virtual clock);
// only the parts handed in differ.
import type { Clock } from './core/clock.ts';
import { decode, encode } from './core/codec.ts';
import { Counters } from './core/counters.ts';
import type { Id } from './core/id.ts';
import type { Identity, SignatureScheme } from './core/identity.ts';
import type { Rng } from './core/rng.ts';
import { Overlay, type Bootstrap } from './overlay/overlay.ts';
import type { OverlayConfig } from './overlay/config.ts';
import { Storage } from './storage/storage.ts';
import type { StorageConfig } from './storage/config.ts';
import type { ReplicaStore } from './storage/replica-store.ts';
import { keyFor } from './storage/records.ts';
import type { Connector } from './transport/link.ts';
import { MethodTable } from './transport/methods.ts';
import { Broadcaster } from './node/broadcast.ts';
import { overlayPort } from './node/overlay-port.ts';
import { RoutedCalls } from './node/routed-call.ts';
import { meteredConnector, type Traffic } from './node/metered-connector.ts';
import { NodeSummaryService, type NodeSummary } from './node/summary.ts';

export interface NodeParts {
  identity: Identity;
  scheme: SignatureScheme;
  clock: Clock;
  rng: Rng;
  connector: Connector;
  store: ReplicaStore;
  bootstrap?: Bootstrap;
  overlay?: Partial<OverlayConfig>;
  storage?: Partial<StorageConfig>;
  counters?: Counters;
}

export class SelfmeshNode {
  readonly id: Id;
  readonly counters: Counters;
  readonly methods = new MethodTable();
  readonly overlay: Overlay;
  readonly storage: Storage;
  readonly calls: RoutedCalls;
  readonly broadcaster: Broadcaster;
  readonly startedAt: number;
  /** Frames and bytes over all of this node's links since it started. */
  readonly traffic: Traffic = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };
  /** The connector the node uses (counting traffic); a bootstrap must open its links through it too. */
  readonly connector: Connector;
  readonly summary: NodeSummaryService;

  constructor(readonly parts: NodeParts) {
    this.id = parts.identity.id;
    this.counters = parts.counters ?? new Counters();
    this.startedAt = parts.clock.now();
    this.connector = meteredConnector(parts.connector, this.traffic);
    this.overlay = new Overlay({
      identity: parts.identity,
      scheme: parts.scheme,
      connector: this.connector,
      clock: parts.clock,
      rng: parts.rng,
      counters: this.counters,
      config: parts.overlay,
      bootstrap: parts.bootstrap,
      methods: this.methods,
    });
    this.calls = new RoutedCalls(this.overlay, this.methods, parts.identity, parts.scheme, parts.clock, this.counters);
    this.storage = new Storage({
      port: overlayPort(this.overlay, this.calls),
      store: parts.store,
      identity: parts.identity,
      scheme: parts.scheme,
      clock: parts.clock,
      rng: parts.rng,
      counters: this.counters,
      config: parts.storage,
    });
    this.broadcaster = new Broadcaster(this.overlay, parts.identity, parts.scheme, parts.clock, parts.rng, this.counters);
    this.summary = new NodeSummaryService(this);
    // Records go to their new holders before the links close.
    // A leaving node hands its records to the holders its keys have without it, before its links close.
    this.overlay.onBeforeLeave(async () => void (await this.storage.handOver()));
  }

  /** Storage first, so that neighbours' first handoffs find their handlers; then the overlay joins. */
  async start(): Promise<void> {
    await this.storage.start();
    await this.overlay.join();
  }

  async leave(): Promise<void> {
    await this.overlay.leave();
    this.storage.stop();
  }

  /** Stops without telling anyone (a crash in the simulator, or the end of a test). */
  stop(closeLinks = true): void {
    this.overlay.stop(closeLinks);
    this.storage.stop();
  }

  /** Application values are MessagePack under the key SHA-256(name). */
  async put(name: string, value: unknown): Promise<Id> {
    const key = keyFor(name);
    await this.storage.put(key, encode(value));
    return key;
  }

  async get(name: string): Promise<{ found: boolean; value: unknown }> {
    const bytes = await this.storage.get(keyFor(name));
    return bytes === null ? { found: false, value: undefined } : { found: true, value: decode(bytes) };
  }

  /** The r nodes that hold (or should hold) the key's replicas. */
  holders(name: string): Promise<Id[]> {
    return this.overlay.findClosest(keyFor(name), this.storage.config.r);
  }

  inspect(node: Id): Promise<NodeSummary> {
    return this.summary.ask(node);
  }

  static keyOf(name: string): Id {
    return keyFor(name);
  }
}
