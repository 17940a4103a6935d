// What the storage layer needs from the overlay (a Kompics-style required port). The composition root
// (src/node.ts) adapts the overlay to it; unit tests give an ideal in-memory overlay.
import type { Id } from '../core/id.ts';
import type { MethodTable } from '../transport/methods.ts';

export interface OverlayPortEvents {
  /** The set of nodes near this one changed (a join, a leave, a death). */
  neighborhood: { added: Id[]; removed: Id[] };
  /** A node was declared dead after a second opinion. */
  dead: { id: Id };
  /** A linked node is suspected (it is left out of the known nodes until cleared or declared dead). */
  suspected: { id: Id };
}

export interface OverlayPort {
  readonly selfId: Id;
  /** The n live nodes closest to key by XOR, found through the overlay (may include this node). */
  findClosest(key: Id, n: number): Promise<Id[]>;
  /** A request to a node: over a direct link when there is one, routed through the overlay otherwise. */
  call(node: Id, method: string, body: unknown, options?: { timeoutMs?: number }): Promise<unknown>;
  /** Where storage registers its request handlers; `ctx.from` is the authenticated caller. */
  readonly methods: MethodTable;
  /** Live nodes in this node's neighbourhood (both sides), closest first. */
  neighbors(): Id[];
  /**
   * Other live nodes this node knows (its routing table), optional. Storage adds them to the neighbours
   * when it judges whether it is among the r closest to a key: the far buckets are what show that a
   * distant key belongs to someone else.
   */
  contacts?(): Id[];
  /**
   * Whether this node's join is done, optional (absent: joined). A joining node knows few nodes yet: the
   * holders it offers records to are often not a key's holders, and receivers judge its offers by that.
   */
  joined?(): boolean;
  /**
   * The nodes whose silent crash this node must notice soon, optional: the other holders of the keys it
   * holds. They need not be in the overlay's neighbourhood, where links are checked most often.
   */
  watch?(ids: Iterable<Id>): void;
  on<K extends keyof OverlayPortEvents>(type: K, listener: (event: OverlayPortEvents[K]) => void): () => void;
}
