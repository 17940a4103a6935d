// When the neighbourhood changes (a join, a leave, a death), each node works out, for every key it holds,
// who the r holders are now. It sends each holder that may lack the key an offer — only one node per
// (key, target) does, to avoid sending the same record several times — and a node that is no longer a
// holder offers to all holders and drops its copy only once every one of them confirmed it.
import type { Id } from '../core/id.ts';
import type { StorageContext } from './context.ts';
import { addKey, type Mover } from './repair.ts';
import type { Stamp } from './records.ts';

export class Handoff {
  /** Holders each key had when it was last handled; a key is handled again when they change. */
  private readonly lastPlan = new Map<Id, string>();
  /** Keys whose last handoff was not fully confirmed; retried on the next run. */
  private readonly unconfirmed = new Set<Id>();
  private running = false;
  private again = false;
  /** The known nodes the plans in lastPlan were computed from: while they stay the same, so do the plans. */
  private lastKnown = new Set<Id>();

  constructor(
    private readonly ctx: StorageContext,
    private readonly mover: Mover,
  ) {}

  get pendingKeys(): number {
    return this.unconfirmed.size;
  }

  /** Runs a pass soon; passes never overlap, and a request during a pass causes one more pass. */
  schedule(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.ctx.tasks.track(this.loop());
  }

  /**
   * Before this node leaves: offers every record it holds to the r holders the key has without this
   * node (the one that takes its place wants it; the others have it), so that the leave costs no key a
   * replica. Resolves with how many keys every such holder confirmed.
   */
  async handOver(): Promise<{ keys: number; confirmed: number }> {
    const { placement, replica, selfId } = this.ctx;
    const others = placement.known().filter((id) => id !== selfId);
    const holdersOf = placement.holdersAmong(others);
    const byTarget = new Map<Id, Id[]>();
    const keys = replica.keys();
    for (const key of keys) for (const h of holdersOf(key)) addKey(byTarget, h, key);
    const confirmed = await this.mover.moveAll(byTarget, 'leave');
    let ok = 0;
    for (const key of keys) if (holdersOf(key).every((h) => confirmed.get(h)?.has(key))) ok++;
    return { keys: keys.length, confirmed: ok };
  }

  /** Forgets a key's last plan (after a write arrives, so that its placement is checked again). */
  touch(key: Id): void {
    this.lastPlan.delete(key);
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
    } finally {
      this.running = false;
    }
  }

  private async pass(): Promise<void> {
    const { placement, replica, selfId } = this.ctx;
    const known = placement.known();
    // A pass runs every few seconds and on every neighbourhood event; recomputing every key's holders
    // each time costs O(keys x known) for nothing when the known nodes did not change. Then only keys
    // without a plan (new or touched) or with an unconfirmed handoff need looking at.
    const sameKnown = known.length === this.lastKnown.size && known.every((id) => this.lastKnown.has(id));
    if (!sameKnown) this.lastKnown = new Set(known);
    const byTarget = new Map<Id, Id[]>();
    const leaving = new Map<Id, { holders: Id[]; stamp: Stamp }>();
    const holdersOf = placement.holdersAmong(known);
    for (const key of replica.keys()) {
      if (sameKnown && this.lastPlan.has(key) && !this.unconfirmed.has(key)) continue;
      const holders = holdersOf(key);
      const plan = holders.join();
      if (this.lastPlan.get(key) === plan && !this.unconfirmed.has(key)) continue;
      this.lastPlan.set(key, plan);
      this.unconfirmed.delete(key);
      if (holders.includes(selfId)) {
        for (const h of holders) if (h !== selfId && pusherFor(holders, h) === selfId) addKey(byTarget, h, key);
      } else {
        for (const h of holders) addKey(byTarget, h, key);
        leaving.set(key, { holders, stamp: replica.stamp(key)! });
      }
    }
    if (byTarget.size === 0) return;
    const confirmed = await this.mover.moveAll(byTarget, 'handoff');
    for (const [target, keys] of byTarget) for (const k of keys) if (!confirmed.get(target)!.has(k)) this.unconfirmed.add(k);
    for (const [key, { holders, stamp }] of leaving) {
      if (!holders.every((h) => confirmed.get(h)?.has(key))) continue;
      // Still ours to drop only if no newer write arrived meanwhile and we are still not a holder.
      if (placement.isHolder(key)) continue;
      if (await replica.drop(key, stamp)) {
        this.lastPlan.delete(key);
        this.unconfirmed.delete(key);
        this.ctx.meters.dropped++;
        this.ctx.events.emit('dropped', { key });
      }
    }
  }
}

/** The node that offers key to target: the closest holder other than target itself. */
export function pusherFor(holders: Id[], target: Id): Id | undefined {
  return holders.find((h) => h !== target);
}

