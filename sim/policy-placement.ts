// The copies a storage room must make because its replication policy raised r (bench/storage.ts): when
// the r of one of a key's holders goes above the highest r the key has had since counting began, that
// holder places the key on the new ranks (a node applies its own r to every key it holds), and those
// there that do not hold it yet must be sent a copy. Like a joiner's placement, this is work any system
// following the same policy would do; it is not repair of a lost replica, so the bench counts it in the
// ideal beside the lost replicas and the joiners' share.
import { commonPrefixLength, type Id } from '../src/core/id.ts';

/** What the count reads of the room. */
export interface PlacementView {
  /** Live joined node ids. */
  live(): readonly Id[];
  /** The r of a node's replication policy. */
  replicasOf(node: Id): number;
  /** Keys with an acknowledged write. */
  ackedKeys(): Id[];
  /** The n live joined nodes closest to key, closest first. */
  trueHolders(key: Id, n: number): Id[];
  /** The r a key should have now (the policy at its closest live node). */
  targetReplicas(key: Id): number;
  /** Whether node holds key's latest acknowledged write (or newer). */
  holdsAcked(key: Id, node: Id): boolean;
  byteSizeOf(key: Id): number;
  /** The room's configured r (the policy's floor). */
  readonly r: number;
}

export class PolicyPlacement {
  /** Bytes of the copies that rises of r asked for, since `reset`. */
  bytes = 0;
  /** Per node, the highest r seen (a sweep runs only when a node goes above it). */
  private readonly nodeR = new Map<Id, number>();
  /** Per key, the highest r any of its holders has had since `reset` (a rise is counted once per level). */
  private readonly keyR = new Map<Id, number>();

  constructor(private readonly view: PlacementView) {}

  /** Starts counting from the room as it is: every key's present r is its baseline. */
  reset(): void {
    this.bytes = 0;
    this.keyR.clear();
    this.nodeR.clear();
    for (const id of this.view.live()) this.nodeR.set(id, this.view.replicasOf(id));
    for (const key of this.view.ackedKeys()) this.keyR.set(key, this.view.targetReplicas(key));
  }

  /** Looks for nodes whose r rose and counts the copies their keys now need. */
  check(): void {
    const live = this.view.live();
    // Only keys sharing a long prefix with a node can have it among their holders (as in the joiners' count).
    const minPrefix = Math.max(0, Math.floor(Math.log2(live.length / this.view.r)) - 4);
    let keys: Id[] | undefined;
    for (const id of live) {
      const r = this.view.replicasOf(id);
      const before = this.nodeR.get(id) ?? this.view.r;
      if (r <= before) continue;
      this.nodeR.set(id, r);
      for (const key of (keys ??= this.view.ackedKeys())) {
        if (commonPrefixLength(key, id) < minPrefix) continue;
        const had = this.keyR.get(key) ?? this.view.r;
        if (r <= had) continue;
        const holders = this.view.trueHolders(key, r);
        if (!holders.includes(id)) continue;
        this.keyR.set(key, r);
        for (const holder of holders.slice(had)) {
          if (!this.view.holdsAcked(key, holder)) this.bytes += this.view.byteSizeOf(key);
        }
      }
    }
  }
}
