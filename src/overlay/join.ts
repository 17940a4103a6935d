// Join: get a first link (through the bootstrap, i.e. the signaling server), stabilize from it until
// the neighbourhood is linked, then fill the far buckets from our neighbours' tables (a neighbour's far
// buckets are ours too) and a few lookups. `ov.join` routes also serve a node cut off from part of the
// overlay, which finds its neighbourhood through a link on the other side (maintenance).
import * as v from 'valibot';
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { OverlayContext } from './context.ts';
import type { Maintenance } from './maintenance.ts';
import { ClosestReply, METHOD, NeighboursReply } from './messages.ts';
import type { Stabilizer } from './neighbourhood.ts';
import type { Router } from './route.ts';

/** Routed `ov.join` / `ov.closest`: the n nodes closest to the key that this node knows. */
export function closestHandler(ctx: OverlayContext) {
  return (body: { n: number }, rc: { key: Id; origin: Id }): ClosestReply => {
    ctx.contacts.add(rc.origin);
    return { closest: ctx.table.closest(rc.key, Math.min(body.n, ctx.config.closestReplySize * 2), rc.origin) };
  };
}

export async function findNeighbourhood(ctx: OverlayContext, router: Router, firstHop?: Id): Promise<Id[]> {
  const { self, config, contacts } = ctx;
  const result = await router.route(self, METHOD.join, { n: config.closestReplySize }, { avoid: self, firstHop });
  const parsed = v.safeParse(ClosestReply, result.reply);
  if (!parsed.success) {
    ctx.drop('bad-join-reply');
    throw new SelfmeshError('BAD_MESSAGE', 'malformed join reply');
  }
  contacts.addAll(result.path);
  contacts.addAll(parsed.output.closest, result.responder);
  return parsed.output.closest;
}

/** Asks a linked peer for all of its links (its far buckets cover ours). */
export async function copyPeerTable(ctx: OverlayContext, peerId: Id): Promise<void> {
  const peer = ctx.table.get(peerId);
  if (!peer) return;
  try {
    const parsed = v.safeParse(NeighboursReply, await peer.rpc.request(METHOD.peers, null));
    if (parsed.success) ctx.contacts.addAll(parsed.output.ids, peerId);
    else ctx.drop('bad-peers');
  } catch {
    // Another neighbour will do.
  }
}

/**
 * Join in a few round trips: stabilize from the bootstrap links (each step asks the neighbours we have
 * for the nodes they know closest to our id and links those, through the neighbour that named them)
 * until our neighbourhood stops changing, then learn far contacts from a neighbour's table (its far
 * buckets are ours). The far links are made after (linkFarBuckets), and lookups for the remaining
 * holes run in the first maintenance rounds.
 *
 * There is no separate join route: routed to our own id from here it ends at once (no link is closer to
 * our id than we are). Started at a bootstrap link instead, it finds the neighbourhood in one route, but
 * its offers go by greedy routing, not through a peer linked to each target, and with joins racing
 * (40 a second in the simulator) they left neighbourhoods inconsistent until maintenance mended them;
 * the browser join was no faster for it (docs/decisions.md).
 */
export async function join(ctx: OverlayContext, stabilizer: Stabilizer): Promise<void> {
  const { table, config } = ctx;
  await stabilizer.stabilize({ ask: config.neighbourhoodSize, maxSteps: 6 });
  ctx.events.emit('joinPhase', { phase: 'stable' });
  const nbrs = table.neighbours();
  if (nbrs[0]) await copyPeerTable(ctx, nbrs[0]);
}

/**
 * One round of far links (one per slot, in parallel), started as join() ends: routes reach a node
 * through its neighbourhood, so it need not wait for them, and the first maintenance round (scheduled
 * at once) makes the rest. Started at once rather than left to maintenance, so the table fills as fast.
 */
export function linkFarBuckets(maintenance: Maintenance): Promise<void> {
  return maintenance.linkContacts(() => true, 8, 8);
}
