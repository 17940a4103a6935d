// The routing table of live links: bucketed by common prefix length, a few well spread links per far
// bucket (one per slot), and links to all of the nearest nodes (the neighbourhood).
import { ID_BITS, commonPrefixLength, compareDistance, idWord, type Id } from '../core/id.ts';
import type { Link } from '../transport/link.ts';
import type { Rpc } from '../transport/rpc.ts';
import { bitsAt, placementOf, slotKey } from './bucket.ts';
import type { OverlayConfig } from './config.ts';

export interface Peer {
  readonly id: Id;
  readonly link: Link;
  readonly rpc: Rpc;
  readonly bucket: number;
  readonly slot: number;
  readonly linkedAt: number;
  /** Last time anything arrived from this peer. */
  lastHeard: number;
  lastPingAt: number;
  missedPings: number;
  pingInFlight: boolean;
  suspected: boolean;
  /** What the peer last told us: does it need this link for its own table? */
  theyNeed: boolean;
  /** What we last told the peer (undefined: nothing yet). */
  toldNeed: boolean | undefined;
  /**
   * Still joining (no `ready` from it yet): not a next hop except for its own id, since it is not yet
   * responsible for keys (its neighbours have not handed anything over).
   */
  joining?: boolean;
  /** In our neighbourhood, as of the last call of `neighbours()` (a flag: the detector reads it per link). */
  neighbour?: boolean;
  /** The nodes closest to it, as its `ready` named them, and when: announcements skip those pairs. */
  theirNeighbours?: { ids: ReadonlySet<Id>; at: number };
  /** The first two 32-bit words of `id` (see idWord), for ranking by distance; set by RoutingTable.add if absent. */
  hi?: number;
  lo?: number;
}

export class RoutingTable {
  readonly peers = new Map<Id, Peer>();
  private slotCounts = new Map<number, number>();
  /** Peers by bucket: a next hop is looked for only in the buckets that can hold one (see nextHops). */
  private byBucket = new Map<number, Peer[]>();
  /** The buckets that hold a peer, in increasing order. */
  private bucketOrder: number[] = [];
  private neighbourCache: Id[] | null = null;
  /** Bumped whenever what `wants` answers may change: a peer added or removed, a suspicion. */
  version = 0;
  /** The peers whose `neighbour` flag is set. */
  private flagged: Id[] = [];
  /** The first two words of this node's id. */
  private readonly selfHi: number;
  private readonly selfLo: number;

  constructor(
    readonly self: Id,
    private readonly config: OverlayConfig,
  ) {
    this.selfHi = idWord(self, 0);
    this.selfLo = idWord(self, 1);
  }

  get size(): number {
    return this.peers.size;
  }

  get(id: Id): Peer | undefined {
    return this.peers.get(id);
  }

  has(id: Id): boolean {
    return this.peers.has(id);
  }

  placement(id: Id) {
    return placementOf(this.self, id, this.config.slotBits);
  }

  add(peer: Peer): void {
    if (this.peers.has(peer.id)) this.remove(peer.id);
    this.version++;
    peer.hi ??= idWord(peer.id, 0);
    peer.lo ??= idWord(peer.id, 1);
    this.peers.set(peer.id, peer);
    const key = slotKey(peer.bucket, peer.slot);
    this.slotCounts.set(key, (this.slotCounts.get(key) ?? 0) + 1);
    const bucket = this.byBucket.get(peer.bucket);
    if (bucket) bucket.push(peer);
    else {
      this.byBucket.set(peer.bucket, [peer]);
      let i = this.bucketOrder.length;
      while (i > 0 && this.bucketOrder[i - 1]! > peer.bucket) i--;
      this.bucketOrder.splice(i, 0, peer.bucket);
    }
    if (this.entersNeighbourhood(peer)) this.neighbourCache = null;
  }

  /**
   * Whether a peer just added may change the neighbourhood: not if it is suspected or farther than a
   * full neighbourhood's last (most links a joining node takes are far ones).
   */
  private entersNeighbourhood(peer: Peer): boolean {
    const nbrs = this.neighbourCache;
    // Nothing cached to keep, or not a candidate at all.
    if (nbrs === null || peer.suspected) return false;
    return nbrs.length < this.config.neighbourhoodSize || compareDistance(this.self, peer.id, nbrs[nbrs.length - 1]!) < 0;
  }

  remove(id: Id): Peer | undefined {
    const peer = this.peers.get(id);
    if (!peer) return undefined;
    this.version++;
    this.peers.delete(id);
    const key = slotKey(peer.bucket, peer.slot);
    const left = (this.slotCounts.get(key) ?? 1) - 1;
    if (left > 0) this.slotCounts.set(key, left);
    else this.slotCounts.delete(key);
    const bucket = this.byBucket.get(peer.bucket)!;
    bucket.splice(bucket.indexOf(peer), 1);
    if (bucket.length === 0) {
      this.byBucket.delete(peer.bucket);
      this.bucketOrder.splice(this.bucketOrder.indexOf(peer.bucket), 1);
    }
    // Losing a peer outside the neighbourhood leaves it as it was.
    if (this.neighbourCache?.includes(id)) this.neighbourCache = null;
    return peer;
  }

  slotCovered(bucket: number, slot: number): boolean {
    return (this.slotCounts.get(slotKey(bucket, slot)) ?? 0) > 0;
  }

  /** Call when a peer's suspicion changes: suspected peers are not counted as neighbours. */
  invalidate(): void {
    this.version++;
    this.neighbourCache = null;
  }

  /** The linked nodes closest to this node (not suspected), closest first. */
  neighbours(): Id[] {
    if (!this.neighbourCache) {
      const ranker = new Ranker(this.self, this.selfHi, this.selfLo, this.config.neighbourhoodSize);
      for (const p of this.peers.values()) if (!p.suspected) ranker.offer(p.id, p.hi!, p.lo!);
      const before = this.flagged;
      this.neighbourCache = ranker.ids;
      for (const id of before) {
        const peer = this.peers.get(id);
        if (peer) peer.neighbour = false;
      }
      for (const id of this.neighbourCache) this.peers.get(id)!.neighbour = true;
      this.flagged = this.neighbourCache;
    }
    return this.neighbourCache;
  }

  /** Would `id` belong in the neighbourhood (closer than the farthest neighbour, or room left)? */
  fitsNeighbourhood(id: Id): boolean {
    const nbrs = this.neighbours();
    if (nbrs.includes(id)) return true;
    if (nbrs.length < this.config.neighbourhoodSize) return true;
    return compareDistance(this.self, id, nbrs[nbrs.length - 1]!) < 0;
  }

  /** Would a link to `id` improve this table (a neighbour, or the first link in its slot)? */
  wants(id: Id): boolean {
    if (id === this.self || this.peers.has(id)) return false;
    if (this.fitsNeighbourhood(id)) return true;
    const { bucket, slot } = this.placement(id);
    return !this.slotCovered(bucket, slot);
  }

  /**
   * A link this table could lose without a hole: not a neighbour, and not the keeper of its slot (the
   * earliest link in it; a slot's other links are spares).
   */
  isRedundant(id: Id): boolean {
    const peer = this.peers.get(id);
    if (!peer) return true;
    if (this.neighbours().includes(id)) return false;
    if ((this.slotCounts.get(slotKey(peer.bucket, peer.slot)) ?? 0) <= 1) return false;
    for (const other of this.peers.values()) {
      if (other === peer || other.bucket !== peer.bucket || other.slot !== peer.slot || other.suspected) continue;
      if (other.linkedAt < peer.linkedAt || (other.linkedAt === peer.linkedAt && other.id < peer.id)) return true;
    }
    return false;
  }

  /**
   * The link to give up to make room for a neighbour: a redundant one if any, else a non-neighbour from
   * the bucket with the most links (never the last link of a bucket).
   */
  evictionCandidate(minAgeMs: number, now: number, forNeighbour = false): Id | undefined {
    const nbrs = new Set(this.neighbours());
    let best: Peer | undefined;
    let bestScore = -1;
    const perBucket = this.bucketSizes();
    for (const peer of this.peers.values()) {
      // A link the far end needs (its neighbour, or its only link in a slot) is never taken from it.
      // (Except to make room for a neighbour: the far end can fill a far slot elsewhere, we cannot.)
      // Nor is a joiner's: it may be the one it is joining through.
      if (nbrs.has(peer.id) || (peer.theyNeed && !forNeighbour) || now - peer.linkedAt < minAgeMs || peer.joining) continue;
      const inBucket = perBucket.get(peer.bucket) ?? 0;
      if (inBucket <= 1) continue;
      const score = (this.isRedundant(peer.id) ? 1000 : 0) + (peer.theyNeed ? 0 : 500) + inBucket;
      if (score > bestScore) {
        bestScore = score;
        best = peer;
      }
    }
    return best?.id;
  }

  /**
   * Up to `max` linked peers strictly closer to key than this node, closest first (none in `skip`).
   * A peer is closer iff, at the first bit where it differs from us (its bucket), it agrees with the
   * key: so the candidates are in the key's own bucket c (all closer than any other), then in each
   * deeper bucket b where the key's bit b is not ours, each such bucket farther than the one before.
   * Only those buckets are looked at, and no further once `max` are found.
   */
  nextHops(key: Id, max: number, avoid?: Id, skip?: ReadonlySet<Id>): Peer[] {
    const out: Peer[] = [];
    const c = commonPrefixLength(this.self, key);
    if (c >= ID_BITS) return out;
    const ranker = new Ranker(key, idWord(key, 0), idWord(key, 1), max);
    this.rankBucket(this.byBucket.get(c), ranker, out, max, key, avoid, skip);
    for (const b of this.bucketOrder) {
      if (out.length >= max) break;
      if (b > c && bitsAt(key, b, 1) !== bitsAt(this.self, b, 1)) this.rankBucket(this.byBucket.get(b), ranker, out, max, key, avoid, skip);
    }
    return out;
  }

  /** Ranks a bucket's usable peers into `out` (a method, not a closure: this runs for every hop of every route). */
  private rankBucket(bucket: Peer[] | undefined, ranker: Ranker, out: Peer[], max: number, key: Id, avoid?: Id, skip?: ReadonlySet<Id>): void {
    if (!bucket) return;
    for (const peer of bucket) {
      if (peer.suspected || peer.id === avoid || !peer.link.isOpen || skip?.has(peer.id)) continue;
      if (peer.joining && peer.id !== key) continue;
      const i = ranker.offer(peer.id, peer.hi!, peer.lo!);
      if (i >= 0) insertBounded(out, i, peer, max);
    }
  }

  /** The n nodes closest to key among this node and its live links. */
  closest(key: Id, n: number, avoid?: Id): Id[] {
    const ranker = new Ranker(key, idWord(key, 0), idWord(key, 1), n);
    ranker.offer(this.self, this.selfHi, this.selfLo);
    for (const peer of this.peers.values()) if (!peer.suspected && peer.id !== avoid) ranker.offer(peer.id, peer.hi!, peer.lo!);
    return ranker.ids;
  }

  /** The n live linked peers closest to key (not this node), closest first. */
  closestPeers(key: Id, n: number, avoid?: Id): Id[] {
    const ranker = new Ranker(key, idWord(key, 0), idWord(key, 1), n);
    for (const peer of this.peers.values()) if (!peer.suspected && peer.id !== avoid) ranker.offer(peer.id, peer.hi!, peer.lo!);
    return ranker.ids;
  }

  /** Is some live link in this bucket (what greedy routing needs for progress into it)? */
  bucketCovered(bucket: number): boolean {
    for (const peer of this.peers.values()) if (peer.bucket === bucket && !peer.suspected) return true;
    return false;
  }

  /** Counts of links per bucket, for inspection. */
  bucketSizes(): Map<number, number> {
    const out = new Map<number, number>();
    for (const p of this.peers.values()) out.set(p.bucket, (out.get(p.bucket) ?? 0) + 1);
    return out;
  }
}

/**
 * The n ids offered that are closest to a key, closest first: a bounded insertion, cheaper than sorting
 * every link. Each id comes with its first two words (idWord), and its distance to the key is compared
 * on those first: XOR distance orders like its bits from the top, so the words decide as the strings
 * would whenever they differ (nearly always); only a tie on 64 bits compares the strings.
 */
class Ranker {
  readonly ids: Id[] = [];
  /** The distances' first two words, by rank. */
  private readonly hi: number[] = [];
  private readonly lo: number[] = [];

  constructor(
    private readonly key: Id,
    private readonly keyHi: number,
    private readonly keyLo: number,
    private readonly n: number,
  ) {}

  /** Ranks id (with its words); returns its rank, or -1 if it is not among the n closest so far. */
  offer(id: Id, idHi: number, idLo: number): number {
    const x = (idHi ^ this.keyHi) >>> 0;
    const y = (idLo ^ this.keyLo) >>> 0;
    const { ids, hi, lo, n } = this;
    let i = ids.length;
    while (i > 0) {
      const h = hi[i - 1]!;
      const l = lo[i - 1]!;
      if (x > h || (x === h && (y > l || (y === l && compareDistance(this.key, id, ids[i - 1]!) >= 0)))) break;
      i--;
    }
    if (i >= n) return -1;
    insertBounded(ids, i, id, n);
    insertBounded(hi, i, x, n);
    insertBounded(lo, i, y, n);
    return i;
  }
}

/**
 * Puts x at index i of a list kept at most n long (the last one falls off when it is full). Not
 * `splice`, which makes an array of what it removed on every call: these lists are ranked per link.
 */
function insertBounded<T>(list: T[], i: number, x: T, n: number): void {
  let k = list.length < n ? list.length : n - 1;
  for (; k > i; k--) list[k] = list[k - 1]!;
  list[i] = x;
}
