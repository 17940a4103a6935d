// An in-page room of fake nodes behind the real NodeApi, for UI work and UI tests. Its topology is
// plausible Kademlia (links bucketed by common prefix, closest per bucket, symmetric), routing is greedy
// by XOR distance, and crashes are noticed by neighbours only after a detection delay, so the views
// meet the same staleness they will meet on a real room. Nothing here is the real overlay.
import { systemClock, type Clock } from '../core/clock.ts';
import { commonPrefixLength, compareDistance, hashId, idFromBytes, sortByDistance, type Id } from '../core/id.ts';
import { cryptoRng, type Rng } from '../core/rng.ts';
import type { JoinStep, LinkInfo, NodeApi, NodeStats, NodeSummary, RoomEvent, RouteResult } from './node-api.ts';

export interface FakeRoomOptions {
  size: number;
  room?: string;
  clock?: Clock;
  rng?: Rng;
  /** Per-hop delay range in ms; [0, 0] makes every answer come on the next timer turn. */
  hopMs?: [number, number];
  /** How long neighbours take to notice a crash. */
  detectMs?: number;
  /** How long an inspect of a gone node takes to fail. */
  timeoutMs?: number;
  /** Links kept per bucket. */
  perBucket?: number;
  replicas?: number;
}

interface FakeNode {
  id: Id;
  prefix: number;
  links: Map<Id, LinkInfo>;
  records: Map<Id, { key: string; value: unknown; bytes: number }>;
  startedAt: number;
  listeners: Set<(e: RoomEvent) => void>;
  messagesIn: number;
  messagesOut: number;
  failures: number;
}

const ALL_STEPS: JoinStep[] = ['signaling', 'first-link', 'joined', 'table-filled'];

export class FakeRoom {
  readonly room: string;
  readonly nodes = new Map<Id, FakeNode>();
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly opts: Required<Omit<FakeRoomOptions, 'room' | 'clock' | 'rng' | 'size'>>;

  constructor(options: FakeRoomOptions) {
    this.room = options.room ?? 'sim';
    this.clock = options.clock ?? systemClock();
    this.rng = options.rng ?? cryptoRng();
    this.opts = {
      hopMs: options.hopMs ?? [3, 25],
      detectMs: options.detectMs ?? 1500,
      timeoutMs: options.timeoutMs ?? 1200,
      perBucket: options.perBucket ?? 3,
      replicas: options.replicas ?? 3,
    };
    for (let i = 0; i < options.size; i++) this.spawn();
    for (const node of this.nodes.values()) this.linkUp(node, false);
  }

  ids(): Id[] {
    return [...this.nodes.keys()];
  }

  /** A new node joins: it links to its picks, and they link back. */
  addNode(): Id {
    const node = this.spawn();
    this.linkUp(node, true);
    this.emitTo(node, { kind: 'join', node: node.id, text: 'joined the room' });
    return node.id;
  }

  /** A polite leave: neighbours hear of it at once, hand-over is instant in this fake. */
  leave(id: Id): void {
    const node = this.nodes.get(id);
    if (!node) return;
    this.nodes.delete(id);
    for (const other of node.links.keys()) this.loseLink(other, id, 'leave', 0);
  }

  /** A crash: nobody is told; linked nodes notice after the detection delay. */
  crash(id: Id): void {
    const node = this.nodes.get(id);
    if (!node) return;
    this.nodes.delete(id);
    for (const other of node.links.keys()) this.loseLink(other, id, 'dead', this.opts.detectMs);
  }

  api(id: Id): NodeApi {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return {
      id,
      room: this.room,
      startedAt: node.startedAt,
      progress: () => ({ step: 'table-filled', done: [...ALL_STEPS], times: Object.fromEntries(ALL_STEPS.map((s) => [s, node.startedAt])) }),
      links: () => [...node.links.values()],
      stats: () => this.stats(node),
      onEvent(listener) {
        node.listeners.add(listener);
        return () => node.listeners.delete(listener);
      },
      route: (key) => this.route(node, key),
      inspect: (target) => this.inspect(node, target),
      put: (key, value) => this.put(node, key, value),
      get: (key) => this.get(node, key),
      holders: async (key) => this.closestLive(hashId(key)),
      leave: async () => this.leave(id),
    };
  }

  private spawn(): FakeNode {
    const id = idFromBytes(this.rng.bytes(32));
    const node: FakeNode = {
      id,
      prefix: parseInt(id.slice(0, 8), 16),
      links: new Map(),
      records: new Map(),
      startedAt: this.clock.now(),
      listeners: new Set(),
      messagesIn: 0,
      messagesOut: 0,
      failures: 0,
    };
    this.nodes.set(id, node);
    return node;
  }

  /**
   * Like a Kademlia table: `perBucket` random members of each bucket (by common prefix of the first
   * 32 bits, exact enough below 2^16 nodes), plus the `perBucket * 2` closest nodes overall (the
   * neighbourhood, which is also the replica set).
   */
  private picks(node: FakeNode): FakeNode[] {
    const buckets = new Map<number, { seen: number; members: FakeNode[] }>();
    const near: Array<{ d: number; n: FakeNode }> = [];
    const keepNear = this.opts.perBucket * 2;
    for (const other of this.nodes.values()) {
      if (other === node) continue;
      const d = (node.prefix ^ other.prefix) >>> 0;
      const b = Math.clz32(d);
      let bucket = buckets.get(b);
      if (!bucket) buckets.set(b, (bucket = { seen: 0, members: [] }));
      // Reservoir sampling: each member of the bucket is equally likely to be kept.
      bucket.seen++;
      if (bucket.members.length < this.opts.perBucket) bucket.members.push(other);
      else {
        const slot = this.rng.int(bucket.seen);
        if (slot < this.opts.perBucket) bucket.members[slot] = other;
      }
      if (near.length < keepNear || d < near[near.length - 1]!.d) {
        near.push({ d, n: other });
        near.sort((x, y) => x.d - y.d);
        if (near.length > keepNear) near.pop();
      }
    }
    const out = new Set<FakeNode>(near.map((e) => e.n));
    for (const bucket of buckets.values()) for (const n of bucket.members) out.add(n);
    return [...out];
  }

  private linkUp(node: FakeNode, announce: boolean): void {
    for (const other of this.picks(node)) {
      if (node.links.has(other.id)) continue;
      const via = announce && node.links.size === 0 ? 'server' : 'overlay';
      this.addLink(node, other, via);
      this.addLink(other, node, via);
      if (announce) this.emitTo(other, { kind: 'link-up', node: node.id, text: `link to ${node.id.slice(0, 8)}` });
    }
  }

  private addLink(a: FakeNode, b: FakeNode, via: LinkInfo['via']): void {
    const rttMs = Math.round(2 + this.rng.next() * 40);
    a.links.set(b.id, { id: b.id, via, rttMs, openedAt: this.clock.now() });
  }

  private loseLink(holderId: Id, lost: Id, kind: 'leave' | 'dead', delay: number): void {
    this.clock.setTimeout(() => {
      const holder = this.nodes.get(holderId);
      if (!holder || !holder.links.delete(lost)) return;
      if (kind === 'dead') {
        holder.failures++;
        this.emitTo(holder, { kind: 'suspected', node: lost, text: 'no heartbeat' });
      }
      this.emitTo(holder, { kind, node: lost, text: kind === 'dead' ? 'declared dead' : 'left the room' });
      this.emitTo(holder, { kind: 'link-down', node: lost, text: `link to ${lost.slice(0, 8)} closed` });
      this.linkUp(holder, false); // repair: refill the bucket from live nodes
    }, delay);
  }

  private emitTo(node: FakeNode, event: Omit<RoomEvent, 'at'>): void {
    const full: RoomEvent = { at: this.clock.now(), ...event };
    this.clock.setTimeout(() => {
      for (const listener of [...node.listeners]) listener(full);
    }, 0);
  }

  private stats(node: FakeNode): NodeStats {
    const uptimeMs = this.clock.now() - node.startedAt;
    const links = [...node.links.values()];
    const bucketFill: number[] = [];
    for (const link of links) {
      const b = commonPrefixLength(node.id, link.id);
      while (bucketFill.length <= b) bucketFill.push(0);
      bucketFill[b]!++;
    }
    // Heartbeats: about one message per link every two seconds each way, on top of counted traffic.
    const beats = Math.floor((links.length * uptimeMs) / 2000);
    let recordBytes = 0;
    for (const r of node.records.values()) recordBytes += r.bytes;
    const viaServer = links.filter((l) => l.via === 'server').length;
    return {
      uptimeMs,
      links: links.length,
      linksViaServer: viaServer,
      linksViaOverlay: links.length - viaServer,
      bucketFill,
      records: node.records.size,
      recordBytes,
      messagesIn: beats + node.messagesIn,
      messagesOut: beats + node.messagesOut,
      bytesIn: (beats + node.messagesIn) * 96,
      bytesOut: (beats + node.messagesOut) * 96,
      counters: { failures: node.failures },
    };
  }

  /** Greedy routing over links; counts one message out and one in per hop. */
  private path(from: FakeNode, key: Id): Id[] {
    const path = [from.id];
    let current = from;
    for (let hops = 0; hops < 64; hops++) {
      let best = current;
      for (const linkId of current.links.keys()) {
        const n = this.nodes.get(linkId);
        if (n && compareDistance(key, n.id, best.id) < 0) best = n;
      }
      if (best === current) break;
      current.messagesOut++;
      best.messagesIn++;
      path.push(best.id);
      current = best;
    }
    return path;
  }

  private delay(hops: number): Promise<void> {
    const [lo, hi] = this.opts.hopMs;
    let ms = 0;
    for (let i = 0; i < hops; i++) ms += lo + this.rng.next() * (hi - lo);
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  private async route(from: FakeNode, key: Id): Promise<RouteResult> {
    const path = this.path(from, key);
    await this.delay(path.length - 1);
    return { key, path, responsible: path[path.length - 1]! };
  }

  private async inspect(from: FakeNode, target: Id): Promise<NodeSummary> {
    const path = this.path(from, target);
    const node = this.nodes.get(target);
    if (!node || path[path.length - 1] !== target) {
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.opts.timeoutMs));
      throw new Error(`inspect ${target.slice(0, 8)}: no answer`);
    }
    await this.delay(2 * (path.length - 1));
    from.messagesIn++;
    node.messagesOut++;
    const load = Math.min(1, 0.05 + node.links.size / 80 + node.records.size / 200 + this.rng.next() * 0.05);
    return { id: target, links: [...node.links.keys()], records: node.records.size, load };
  }

  private closestLive(key: Id): Id[] {
    return sortByDistance(key, this.nodes.keys()).slice(0, this.opts.replicas);
  }

  private async put(from: FakeNode, key: string, value: unknown): Promise<{ key: Id; holders: Id[] }> {
    const keyId = hashId(key);
    const route = await this.route(from, keyId);
    const holders = this.closestLive(keyId);
    const bytes = key.length + JSON.stringify(value ?? null).length;
    for (const id of holders) this.nodes.get(id)?.records.set(keyId, { key, value, bytes });
    this.emitTo(from, { kind: 'put', node: route.responsible, text: `put "${key}" on ${holders.length} replicas` });
    return { key: keyId, holders };
  }

  private async get(from: FakeNode, key: string): Promise<{ key: Id; value: unknown; holders: Id[] } | null> {
    const keyId = hashId(key);
    await this.route(from, keyId);
    const holders = this.closestLive(keyId).filter((id) => this.nodes.get(id)?.records.has(keyId));
    const record = holders.length > 0 ? this.nodes.get(holders[0]!)?.records.get(keyId) : undefined;
    return record ? { key: keyId, value: record.value, holders } : null;
  }
}
