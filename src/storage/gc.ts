// Tombstone collection. A delete leaves a tombstone so that repair cannot bring the old value back; kept
// forever, tombstones would pile up. A holder collects (drops) a tombstone once it has held it for
// config.tombstoneTtlMs and every other holder of the key, in its view, confirmed it holds the same
// tombstone (or collected it already). The confirmation is an offer: a holder that lacks the tombstone
// gets it pushed first, so collection never leaves a holder with the old value. A collected tombstone is
// remembered for two more TTLs: an offer or push of it is answered "held", so holders that have not
// collected it yet neither push it back nor keep it for ever.
import type { Id } from '../core/id.ts';
import type { StorageContext } from './context.ts';
import type { Stamp } from './records.ts';
import { addKey, type Mover } from './repair.ts';

export class TombstoneGc {
  /** The last pass started; passes never overlap (a call during a pass runs after it). */
  private last: Promise<number> = Promise.resolve(0);

  constructor(
    private readonly ctx: StorageContext,
    private readonly mover: Mover,
  ) {}

  /** One pass; resolves with how many tombstones this node collected. */
  run(): Promise<number> {
    if (this.ctx.config.tombstoneTtlMs <= 0) return Promise.resolve(0);
    const next = this.last.then(
      () => {
        this.ctx.replica.pruneCollected();
        return this.pass();
      },
      () => 0,
    );
    this.last = next.catch(() => 0);
    return next;
  }

  private async pass(): Promise<number> {
    const { config, replica, placement, selfId, clock } = this.ctx;
    const now = clock.now();
    const due: Id[] = [];
    for (const [key, e] of replica.index) if (e.tombstone && now - e.since >= config.tombstoneTtlMs) due.push(key);
    if (due.length === 0) return 0;
    const known = placement.known();
    // Fewer known nodes than r: this node cannot tell that every holder has the tombstone.
    if (known.length < placement.r) return 0;
    const holdersOf = placement.holdersAmong(known);
    const plan = new Map<Id, { others: Id[]; stamp: Stamp }>();
    const byTarget = new Map<Id, Id[]>();
    for (const key of due) {
      const holders = holdersOf(key);
      // A node that is no longer a holder hands the tombstone over and drops it like any record.
      if (!holders.includes(selfId)) continue;
      const others = holders.filter((h) => h !== selfId);
      plan.set(key, { others, stamp: replica.stamp(key)! });
      for (const h of others) addKey(byTarget, h, key);
    }
    const confirmed = await this.mover.moveAll(byTarget, 'handoff');
    let collected = 0;
    for (const [key, { others, stamp }] of plan) {
      if (!others.every((h) => confirmed.get(h)?.has(key))) continue;
      // Every other holder had it by now, so collects it within a TTL and a pass: remember it that long.
      if (await replica.collect(key, stamp, 2 * config.tombstoneTtlMs)) {
        collected++;
        this.ctx.meters.tombstonesCollected++;
      }
    }
    return collected;
  }
}
