// Learns the room for the topology view by asking nodes for their neighbours (`inspect`) through the
// overlay. Every inspect costs the room a lookup, so the crawl is bounded twice: a few requests in
// flight, and a token bucket of requests per second. It is incremental: it starts from this node's own
// links, inspects what it has not seen first, then re-inspects the stalest, and jumps the queue for
// nodes named in room events. A node is dropped when its inspect fails twice in a row (for one that never
// answered, the second try waits a refresh period: it may still be joining), when an event
// says it left or died, or when no known node lists it any more.
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { Id } from '../../core/id.ts';
import type { NodeApi, RoomEvent } from '../node-api.ts';

export interface KnownNode {
  id: Id;
  self: boolean;
  /** As last reported by the node itself (empty until inspected). */
  links: Id[];
  records: number | null;
  load: number | null;
  firstSeen: number;
  /** When the last successful inspect answered; null while only heard of. */
  inspectedAt: number | null;
  /** Consecutive failed inspects. */
  failures: number;
  /** Not inspected again before this time (a node that has never answered gets a moment to finish joining). */
  retryAt: number;
}

export interface CrawlerOptions {
  clock: Clock;
  /** Inspects in flight at once. */
  concurrency?: number;
  /** Inspects started per second, on average (token bucket; bursts up to `concurrency`). */
  perSecond?: number;
  /** A node is re-inspected when its answer is older than this. */
  refreshMs?: number;
  tickMs?: number;
  /** How long a dropped node is not rediscovered from other nodes' (possibly stale) link lists. */
  forgetMs?: number;
  /** Memory bound: beyond this many nodes, newly heard-of ids are ignored. */
  maxNodes?: number;
}

export type CrawlerNode = Pick<NodeApi, 'id' | 'links' | 'stats' | 'inspect' | 'onEvent'>;

export class TopologyCrawler {
  readonly nodes = new Map<Id, KnownNode>();
  /** Bumped on every change, so a view redraws only when there is something new. */
  version = 0;
  /** Total inspects started (for tests and the view's footer). */
  started = 0;
  private readonly inFlight = new Set<Id>();
  private readonly urgent = new Set<Id>();
  private readonly dropped = new Map<Id, number>();
  /** Each node's links as a set, for O(1) membership in edges() and the orphan check. */
  private readonly linkSets = new Map<Id, Set<Id>>();
  private edgeCache: { version: number; edges: Array<[Id, Id]> } | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly clock: Clock;
  private readonly concurrency: number;
  private perSecond: number;
  private readonly refreshMs: number;
  private readonly tickMs: number;
  private readonly forgetMs: number;
  private readonly maxNodes: number;
  private tokens: number;
  private lastRefill: number;
  private timer: TimerHandle | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly node: CrawlerNode,
    options: CrawlerOptions,
  ) {
    this.clock = options.clock;
    this.concurrency = options.concurrency ?? 4;
    this.perSecond = options.perSecond ?? 20;
    this.refreshMs = options.refreshMs ?? 4000;
    this.tickMs = options.tickMs ?? 100;
    this.forgetMs = options.forgetMs ?? 10_000;
    this.maxNodes = options.maxNodes ?? 5000;
    this.tokens = this.concurrency;
    this.lastRefill = this.clock.now();
    const now = this.clock.now();
    this.nodes.set(node.id, {
      id: node.id, self: true, links: [], records: null, load: null, firstSeen: now, inspectedAt: null, failures: 0, retryAt: 0,
    });
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.unsubscribe = this.node.onEvent((e) => this.onEvent(e));
    const loop = () => {
      this.pump();
      this.timer = this.clock.setTimeout(loop, this.tickMs);
    };
    loop();
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Lower the budget while nobody is looking (a hidden tab), raise it again when they are. */
  setBudget(perSecond: number): void {
    this.perSecond = perSecond;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Links where both ends are known, each once (as [smaller id, larger id]); cached per version. */
  edges(): Array<[Id, Id]> {
    if (this.edgeCache?.version === this.version) return this.edgeCache.edges;
    const out: Array<[Id, Id]> = [];
    for (const n of this.nodes.values()) {
      for (const other of n.links) {
        if (!this.nodes.has(other)) continue;
        if (n.id < other) out.push([n.id, other]);
        // Listed only by the larger end (the other's answer is older or not in yet): keep it once.
        else if (!this.linkSets.get(other)?.has(n.id)) out.push([other, n.id]);
      }
    }
    this.edgeCache = { version: this.version, edges: out };
    return out;
  }

  /** One step: refresh this node from local state, then start what the budget allows. */
  pump(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.concurrency, this.tokens + ((now - this.lastRefill) / 1000) * this.perSecond);
    this.lastRefill = now;
    this.refreshSelf(now);
    while (this.inFlight.size < this.concurrency && this.tokens >= 1) {
      const next = this.pick(now);
      if (next === undefined) break;
      this.tokens -= 1;
      void this.inspectOne(next);
    }
  }

  private refreshSelf(now: number): void {
    const self = this.nodes.get(this.node.id)!;
    const links = this.node.links().map((l) => l.id);
    const records = this.node.stats().records;
    const changed = records !== self.records || !sameIds(links, self.links);
    if (!changed) return;
    const removed = self.links.filter((id) => !links.includes(id));
    this.setLinks(self, links);
    self.records = records;
    self.inspectedAt = now;
    for (const id of links) this.hear(id, now);
    for (const id of removed) this.dropIfOrphan(id);
    this.changed();
  }

  /** Urgent ids first, then never-inspected ones, then the stalest answer past `refreshMs`. */
  private pick(now: number): Id | undefined {
    for (const id of this.urgent) {
      this.urgent.delete(id);
      if (this.nodes.has(id) && !this.inFlight.has(id)) return id;
    }
    let fresh: KnownNode | undefined;
    let stale: KnownNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.self || this.inFlight.has(n.id) || n.retryAt > now) continue;
      if (n.inspectedAt === null) {
        if (!fresh || n.firstSeen < fresh.firstSeen) fresh = n;
      } else if (now - n.inspectedAt >= this.refreshMs && (!stale || n.inspectedAt < stale.inspectedAt!)) {
        stale = n;
      }
    }
    return (fresh ?? stale)?.id;
  }

  private async inspectOne(id: Id): Promise<void> {
    this.inFlight.add(id);
    this.started++;
    const startedAt = this.clock.now();
    try {
      const summary = await this.node.inspect(id);
      // Another node answering for this id means the id is gone from the room.
      if (summary.id !== id) throw new Error('answered by another node');
      const known = this.nodes.get(id);
      if (!known || (this.dropped.get(id) ?? -Infinity) >= startedAt) return;
      const now = this.clock.now();
      const removed = known.links.filter((l) => !summary.links.includes(l));
      this.setLinks(known, [...summary.links]);
      known.records = summary.records;
      known.load = summary.load;
      known.inspectedAt = now;
      known.failures = 0;
      for (const l of summary.links) this.hear(l, now);
      for (const l of removed) this.dropIfOrphan(l);
      this.changed();
    } catch {
      const known = this.nodes.get(id);
      if (!known) return;
      known.failures++;
      if (known.failures >= 2) this.drop(id);
      // A node that never answered may still be joining (no route ends at it until it is ready), and a
      // second try at once would fail the same way and hide it for forgetMs: it gets a refresh period.
      else if (known.inspectedAt === null) known.retryAt = this.clock.now() + this.refreshMs;
      else this.urgent.add(id); // answered before: confirm soon rather than after a full refresh round
    } finally {
      this.inFlight.delete(id);
    }
  }

  private hear(id: Id, now: number): void {
    if (this.nodes.has(id) || this.nodes.size >= this.maxNodes) return;
    const droppedAt = this.dropped.get(id);
    if (droppedAt !== undefined && now - droppedAt < this.forgetMs) return;
    this.dropped.delete(id);
    this.nodes.set(id, {
      id, self: false, links: [], records: null, load: null, firstSeen: now, inspectedAt: null, failures: 0, retryAt: 0,
    });
    this.changed();
  }

  private drop(id: Id): void {
    const known = this.nodes.get(id);
    if (!known || known.self) return;
    this.nodes.delete(id);
    this.linkSets.delete(id);
    this.urgent.delete(id);
    this.dropped.set(id, this.clock.now());
    // Ids only this node told us about, and not yet confirmed, go with it.
    for (const l of known.links) {
      if (this.nodes.get(l)?.inspectedAt === null) this.dropIfOrphan(l);
    }
    this.changed();
  }

  private dropIfOrphan(id: Id): void {
    if (!this.nodes.has(id)) return;
    for (const set of this.linkSets.values()) if (set.has(id)) return;
    this.drop(id);
  }

  private setLinks(node: KnownNode, links: Id[]): void {
    node.links = links;
    this.linkSets.set(node.id, new Set(links));
  }

  private onEvent(e: RoomEvent): void {
    const id = e.node;
    if (!id || id === this.node.id) return;
    const now = this.clock.now();
    switch (e.kind) {
      case 'join':
      case 'link-up':
        this.dropped.delete(id);
        this.hear(id, now);
        this.urgent.add(id);
        break;
      case 'leave':
      case 'dead':
        this.drop(id);
        break;
      case 'suspected':
      case 'link-down':
        if (this.nodes.has(id)) this.urgent.add(id);
        break;
      default:
        break;
    }
  }

  private changed(): void {
    this.version++;
    for (const listener of [...this.listeners]) listener();
  }
}

function sameIds(a: Id[], b: Id[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((id) => set.has(id));
}
