// When the neighbourhood changes (a join, a leave, a death), each node works out, for every key it holds,
// who the r holders are now. It sends each holder that may lack the key an offer — the closest other
// holder at once, the second closest a little later as a backup (that holder may have died silently a moment
// ago; the target answers "have" or "pending" to a late offer, so a record still goes once) — and a node
// that is no longer a holder offers to all holders and drops its copy only once every one of them
// confirmed it. A pass does not wait for its moves: an offer to a silently dead node takes a request
// timeout, and the next death must not wait behind it.
import type { Id } from '../core/id.ts';
import type { StorageContext } from './context.ts';
import { addKey, type Mover } from './repair.ts';
import type { Stamp } from './records.ts';
import { keepsKey } from './acceptance.ts';
import { topClosest } from './placement.ts';
import { within } from '../core/clock.ts';

export class Handoff {
  /** Holders each key had when it was last handled; a key is handled again when they change. */
  private readonly lastPlan = new Map<Id, string>();
  /**
   * Keys this node took as a stand-in for a holder that failed a write (see Quorum.cover): handed to the
   * holders and dropped once they all confirmed, not kept as an extra copy, which the room did not ask for.
   */
  private readonly standIns = new Set<Id>();
  /** Keys whose last handoff was not fully confirmed; retried on the next run. */
  private readonly unconfirmed = new Set<Id>();
  private running = false;
  private again = false;
  /** Set when storage stops: backup offers still on a timer are not sent. */
  private halted = false;
  /** The known nodes the plans in lastPlan were computed from: while they stay the same, so do the plans. */
  private lastKnown = new Set<Id>();
  /** The r (and whether extra copies are kept) those plans were made for: the policy may change both. */
  private lastMode = '';

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
   * replica. A holder that has not answered its offer within `leaveCoverMs` may have crashed silently a
   * moment ago (nobody noticed yet, so it is still in the view): the next closest node that is not a
   * holder is offered the key in its place, as the writer covers a failed put (Quorum.cover). A leave
   * has about a second before the links close, less than a request timeout, so it cannot wait to see the
   * holder fail. Resolves with how many keys every holder (or its cover) confirmed.
   */
  async handOver(): Promise<{ keys: number; confirmed: number }> {
    const { placement, replica, selfId, config, clock } = this.ctx;
    const others = placement.known().filter((id) => id !== selfId);
    const holdersOf = placement.holdersAmong(others);
    const byTarget = new Map<Id, Id[]>();
    const keys = replica.keys();
    for (const key of keys) for (const h of holdersOf(key)) addKey(byTarget, h, key);
    const answered = new Set<Id>();
    const confirmed = new Map<Id, Set<Id>>();
    const moves = Promise.all(
      [...byTarget].map(async ([target, list]) => {
        confirmed.set(target, (await this.mover.move(target, list, 'leave', () => answered.add(target))).confirmed);
      }),
    );
    await within(clock, config.leaveCoverMs, moves);
    // Holder/key → the spare offered the key in the holder's place.
    const covers = new Map<string, Id>();
    const spares = new Map<Id, Id[]>();
    for (const key of keys) {
      const holders = holdersOf(key);
      const silent = holders.filter((h) => !answered.has(h));
      if (silent.length === 0) continue;
      const beyond = topClosest(key, others, holders.length + silent.length).filter((id) => !holders.includes(id));
      silent.forEach((h, i) => {
        const spare = beyond[i];
        if (spare === undefined) return;
        addKey(spares, spare, key);
        covers.set(`${h}/${key}`, spare);
      });
    }
    if (spares.size > 0) this.ctx.counters.inc('storage.leave.covered', covers.size);
    const [coverConfirmed] = await Promise.all([this.mover.moveAll(spares, 'leave'), moves]);
    const covered = (h: Id, key: Id) => {
      const spare = covers.get(`${h}/${key}`);
      return spare !== undefined && coverConfirmed.get(spare)?.has(key) === true;
    };
    let ok = 0;
    for (const key of keys) if (holdersOf(key).every((h) => confirmed.get(h)?.has(key) || covered(h, key))) ok++;
    return { keys: keys.length, confirmed: ok };
  }

  /** Stops sending backup offers that are still waiting on a timer (until `resume`). */
  halt(): void {
    this.halted = true;
  }

  resume(): void {
    this.halted = false;
  }

  /** This node took key as a stand-in for a holder (see standIns). */
  standIn(key: Id): void {
    this.standIns.add(key);
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
    const mode = `${placement.r}/${this.ctx.policy.keepsExtras}`;
    const sameKnown = mode === this.lastMode && known.length === this.lastKnown.size && known.every((id) => this.lastKnown.has(id));
    if (!sameKnown) {
      this.lastKnown = new Set(known);
      this.lastMode = mode;
    }
    const holdersOf = placement.holdersAmong(known);
    const keeps = this.ctx.policy.keepsExtras;
    const byTarget = new Map<Id, Id[]>();
    /** Backup offers (from the second closest holder only; more would cost offers for little). */
    const backups = new Map<number, Map<Id, Id[]>>();
    const leaving = new Map<Id, { holders: Id[]; stamp: Stamp }>();
    /** New holders of keys this node keeps a copy of, offered later (see offerKept). */
    const kept = new Map<Id, Id[]>();
    let planned = false;
    for (const key of replica.keys()) {
      if (sameKnown && this.lastPlan.has(key) && !this.unconfirmed.has(key)) continue;
      const holders = holdersOf(key);
      const plan = holders.join();
      const previous = this.lastPlan.get(key);
      const retry = this.unconfirmed.has(key);
      if (previous === plan && !retry) continue;
      this.lastPlan.set(key, plan);
      this.unconfirmed.delete(key);
      planned = true;
      // Holders of the last plan were offered the key then (or it is unconfirmed and all are asked
      // again): only new holders need an offer. With r copies that is one target, not r - 1.
      const previousHolders = previous !== undefined && !retry ? previous.split(',') : undefined;
      const before = previousHolders && new Set(previousHolders);
      if (holders.includes(selfId)) {
        // A holder now: its copy is one of the r, whatever brought it here.
        this.standIns.delete(key);
        for (const h of holders) {
          if (h === selfId) continue;
          const step = offerStep(holders, h, selfId);
          if (step > 1) continue;
          // A holder of the last plan was offered the key then: by this node if its step was 0 or 1, else
          // by the holders ahead of it. Those may have died unseen (two holders crashing together leave a
          // joiner between them with nobody alive to offer to it): once they are found dead, this node's
          // step comes up, and the offer is its own. Not where this node was no holder in the last plan
          // (a kept copy that is a holder again): that plan's offerers served its holders, and offering
          // again cost 1.225 of the ideal at the quick 10-minute row against 1.214.
          if (before?.has(h) && offerStep(previousHolders!, h, selfId) <= 1) continue;
          if (step === 0) addKey(byTarget, h, key);
          else if (step === 1 && this.ctx.config.backupOfferMs > 0) {
            let m = backups.get(step);
            if (!m) backups.set(step, (m = new Map()));
            addKey(m, h, key);
          }
        }
      } else if (keeps && !this.standIns.has(key) && placement.isResponsible(key, selfId, known)) {
        // A copy kept under churn: the holders are asked once (it may be a write no holder has yet), new
        // holders later (see offerKept).
        if (!before) for (const h of holders) addKey(byTarget, h, key);
        else for (const h of holders) if (!before.has(h)) addKey(kept, h, key);
      } else {
        for (const h of holders) addKey(byTarget, h, key);
        leaving.set(key, { holders, stamp: replica.stamp(key)! });
      }
    }
    if (planned || !sameKnown) this.watchFellows(holdersOf);
    for (const [step, targets] of backups) {
      this.ctx.clock.setTimeout(() => this.backup(targets), step * this.ctx.config.backupOfferMs);
    }
    if (kept.size > 0) this.ctx.clock.setTimeout(() => this.offerKept(kept), 2 * this.ctx.config.backupOfferMs);
    if (byTarget.size === 0) return;
    this.ctx.tasks.track(this.mover.moveAll(byTarget, 'handoff').then((confirmed) => this.settle(byTarget, leaving, confirmed)));
  }

  /**
   * Asks the overlay to check the links to the other holders of the keys held here as often as its
   * neighbour links: when one crashes silently, this node is one that must copy the key again, and a far
   * link would show the crash only when it closes, half a minute later.
   */
  private watchFellows(holdersOf: (key: Id) => Id[]): void {
    const { port, replica, selfId } = this.ctx;
    if (!port.watch) return;
    const fellows = new Set<Id>();
    for (const key of replica.keys()) for (const h of holdersOf(key)) if (h !== selfId) fellows.add(h);
    port.watch(fellows);
  }

  /** A backup offer: only for keys whose plan did not change meanwhile (a newer pass handles the rest). */
  private backup(targets: Map<Id, Id[]>): void {
    if (this.halted) return;
    const byTarget = this.stillDue(targets, true);
    if (byTarget.size === 0) return;
    this.ctx.tasks.track(this.mover.moveAll(byTarget, 'handoff').then((confirmed) => this.settle(byTarget, new Map(), confirmed)));
  }

  /**
   * A kept copy offered to holders that are new in its plan. The holders that had the key may all be gone
   * (they died while joiners pushed this copy beyond the r closest), and then nobody else would give it to
   * the new ones. Offered after the holders' own offers had their time, and as `sync` offers, which a node
   * takes only if it is a holder in its own view: this node is farther from the key than its holders, its
   * view of who they are is the less sure, and a copy sent to a node that is not one would be dropped
   * again. Nothing is retried from here; a changed plan offers again.
   */
  private offerKept(targets: Map<Id, Id[]>): void {
    if (this.halted) return;
    const byTarget = this.stillDue(targets, false);
    if (byTarget.size > 0) this.ctx.tasks.track(this.mover.moveAll(byTarget, 'kept'));
  }

  /**
   * Of offers planned a while ago, those the plan now still asks for: the key is still here, the target
   * is still a holder, and this node is (or, for a kept copy, is not) a holder itself.
   */
  private stillDue(targets: Map<Id, Id[]>, selfHolder: boolean): Map<Id, Id[]> {
    const holdersOf = this.ctx.placement.holdersAmong(this.ctx.placement.known());
    const byTarget = new Map<Id, Id[]>();
    for (const [target, keys] of targets) {
      for (const key of keys) {
        const holders = holdersOf(key);
        if (this.ctx.replica.has(key) && holders.includes(target) && holders.includes(this.ctx.selfId) === selfHolder) addKey(byTarget, target, key);
      }
    }
    return byTarget;
  }

  /** After moves: unconfirmed keys are retried by a later pass; a former holder drops what all confirmed. */
  private async settle(byTarget: Map<Id, Id[]>, leaving: Map<Id, { holders: Id[]; stamp: Stamp }>, confirmed: Map<Id, Set<Id>>): Promise<void> {
    const { replica } = this.ctx;
    for (const [target, keys] of byTarget) for (const k of keys) if (!confirmed.get(target)!.has(k)) this.unconfirmed.add(k);
    for (const [key, { holders, stamp }] of leaving) {
      if (!holders.every((h) => confirmed.get(h)?.has(key))) continue;
      // Still ours to drop only if no newer write arrived meanwhile and we are still not a holder (nor,
      // for a copy kept as an extra, within the slack ranks).
      if (this.standIns.has(key) ? this.ctx.placement.isHolder(key) : keepsKey(this.ctx, key)) continue;
      if (await replica.drop(key, stamp)) {
        this.standIns.delete(key);
        this.lastPlan.delete(key);
        this.unconfirmed.delete(key);
        this.ctx.meters.dropped++;
        this.ctx.events.emit('dropped', { key });
      }
    }
  }
}

/**
 * Which offerer of key `target` this node is (0: the first, 1: the backup; -1: not a holder): its place
 * among the other holders, closest first.
 */
function offerStep(holders: Id[], target: Id, self: Id): number {
  return holders.filter((x) => x !== target).indexOf(self);
}
