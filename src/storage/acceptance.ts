// Which keys a node takes and keeps, each judged in its own view of who holds them. Views differ while
// nodes come and go, so a node takes more than it strictly holds (the slack ranks), but not so much that
// it takes copies only to drop them again at its next handoff pass: every such copy costs repair bytes
// that no holder needed.
import type { Id } from '../core/id.ts';
import type { StorageContext } from './context.ts';

/**
 * Who offers: a joined node handing keys over (`handoff`), one whose join is not done (`joining`: its
 * view is partial), or anti-entropy (`sync`: an offer after comparing summaries, or this node's own fetch).
 */
export type OfferKind = 'handoff' | 'joining' | 'sync';

/**
 * Whether this node keeps key for good, in its own view: a holder, or (while the policy keeps extra
 * copies) within the slack ranks. Anti-entropy moves a key only to a node that keeps it: one that merely
 * accepts it would drop it again at its next pass, and get it again at the next round.
 */
export function keepsKey(ctx: StorageContext, key: Id, known: Id[] = ctx.placement.known()): boolean {
  const { placement } = ctx;
  const rank = placement.rank(key, ctx.selfId, known);
  return rank < placement.r || (ctx.policy.keepsExtras && rank < placement.r + placement.slack);
}

/**
 * Whether this node takes key when offered it (`held`: it has a copy, perhaps older).
 * - `handoff`: within the slack ranks. Two holders dying close together leave the next holder two ranks
 *   out in its own view until it has seen both go, and it must take the key then.
 * - `joining`: a holder, or one rank beyond (one closer node it still counts may have died unseen). A
 *   joiner knows few nodes yet and often offers to nodes that are not holders; within all the slack ranks
 *   such a copy was taken, and dropped again once the holders confirmed it.
 * - `sync`: a newer version of a copy it keeps (see keepsKey), or a key it lacks only as a holder. A kept
 *   extra copy is one a former holder did not drop; sending a fresh one to a node within the slack ranks
 *   because two views differ costs bytes that no holder needs.
 */
export function takesOffer(ctx: StorageContext, key: Id, kind: OfferKind, held: boolean, known: Id[] = ctx.placement.known()): boolean {
  const { placement } = ctx;
  switch (kind) {
    case 'handoff':
      return placement.isResponsible(key, ctx.selfId, known);
    case 'joining':
      return placement.rank(key, ctx.selfId, known) < placement.r + Math.min(1, placement.slack);
    case 'sync':
      return held ? keepsKey(ctx, key, known) : placement.rank(key, ctx.selfId, known) < placement.r;
  }
}
