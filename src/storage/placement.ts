// Who holds a key: the r nodes closest to it by XOR. The global answer comes from the overlay (a lookup);
// the local answer from what this node knows (itself and its neighbourhood), which is what a replica
// uses to decide whether a request for a key is its business.
import { compareDistance, type Id } from '../core/id.ts';
import type { OverlayPort } from './overlay-port.ts';

export class Placement {
  /** Nodes that said they are leaving, until when they are left out of `known()`. */
  private readonly leaving = new Map<Id, number>();

  constructor(
    private readonly port: OverlayPort,
    /** Replicas per key now (the replication policy's r; it changes with churn). */
    private readonly replicas: () => number,
    /** Extra ranks a node still accepts during churn, when views of the neighbourhood differ. */
    readonly slack: number,
    private readonly now: () => number = () => 0,
    /** How long a node that announced its leave is left out (it is gone from the overlay by then). */
    private readonly leavingMs = 60_000,
  ) {}

  get r(): number {
    return this.replicas();
  }

  /** A node announced that it is leaving: it no longer counts as a holder here. */
  markLeaving(id: Id): void {
    if (id !== this.port.selfId) this.leaving.set(id, this.now() + this.leavingMs);
  }

  get selfId(): Id {
    return this.port.selfId;
  }

  /** The r holders of key (plus `extra` fallbacks), closest first, found through the overlay. */
  holders(key: Id, extra = 0): Promise<Id[]> {
    return this.port.findClosest(key, this.r + extra);
  }

  /** The n nodes closest to key among this node and its neighbours, closest first. */
  localHolders(key: Id, n = this.r, known: Id[] = this.known()): Id[] {
    return topClosest(key, known, n);
  }

  /**
   * The r holders of keys among `known`, remembered while the known set stays the same: handoff passes
   * and anti-entropy summaries ask for every held key every few seconds, and the neighbourhood changes
   * far less often than that.
   */
  holdersAmong(known: Id[]): (key: Id) => Id[] {
    const m = this.memo;
    const r = this.r;
    if (r !== m.r || known.length !== m.known.size || !known.every((id) => m.known.has(id)) || m.holders.size > 200_000) {
      this.memo = { r, known: new Set(known), holders: new Map() };
    }
    const { holders } = this.memo;
    return (key) => {
      let h = holders.get(key);
      if (!h) holders.set(key, (h = topClosest(key, known, r)));
      return h;
    };
  }

  private memo = { r: 0, known: new Set<Id>(), holders: new Map<Id, Id[]>() };

  /** This node, its neighbours and its other contacts (deduplicated). */
  known(): Id[] {
    const set = new Set(this.port.neighbors());
    for (const id of this.port.contacts?.() ?? []) set.add(id);
    if (this.leaving.size > 0) {
      const now = this.now();
      for (const [id, until] of this.leaving) {
        if (until <= now) this.leaving.delete(id);
        else set.delete(id);
      }
    }
    set.add(this.port.selfId);
    return [...set];
  }

  /** Rank of node among the known nodes for key (0 = closest); node need not be known itself. */
  rank(key: Id, node: Id, known: Id[] = this.known()): number {
    let rank = 0;
    for (const other of known) if (other !== node && compareDistance(key, other, node) < 0) rank++;
    return rank;
  }

  /** Whether node is among the r closest to key that this node knows of, give or take the slack. */
  isResponsible(key: Id, node: Id = this.port.selfId, known?: Id[]): boolean {
    return this.rank(key, node, known) < this.r + this.slack;
  }

  /** Strictly among the r closest (no slack): whether node should keep the key for good. */
  isHolder(key: Id, node: Id = this.port.selfId, known?: Id[]): boolean {
    return this.rank(key, node, known) < this.r;
  }
}

/** The n ids closest to key, closest first, without sorting the whole list. */
export function topClosest(key: Id, ids: Iterable<Id>, n: number): Id[] {
  const top: Id[] = [];
  for (const id of ids) {
    if (top.length < n) {
      top.push(id);
      top.sort((a, b) => compareDistance(key, a, b));
    } else if (n > 0 && compareDistance(key, id, top[n - 1]!) < 0) {
      top[n - 1] = id;
      top.sort((a, b) => compareDistance(key, a, b));
    }
  }
  return top;
}
