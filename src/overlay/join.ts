// Join: get a first link (through the bootstrap, i.e. the signaling server), route a join to our own
// id to find the node now responsible for it, link to the neighbourhood it returns, then fill the far
// buckets from our neighbours' tables (a neighbour's far buckets are ours too) and a few lookups.
import * as v from 'valibot';
import { sleep } from '../core/clock.ts';
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { OverlayContext } from './context.ts';
import type { Maintenance } from './maintenance.ts';
import { ClosestReply, METHOD, NeighboursReply } from './messages.ts';
import type { Stabilizer } from './neighbourhood.ts';
import type { OverlaySignaling } from './overlay-signaling.ts';
import type { Router } from './route.ts';

/** How long join waits for its first neighbourhood links before it goes on to stabilize. */
const JOIN_LINK_WAIT_MS = 2_000;

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
 * Join in a few round trips: route a join to our id (through a bootstrap link), link to the nodes the
 * responsible node returns (signaled through it), stabilize until our neighbourhood stops changing,
 * then learn far contacts from a neighbour's table (its far buckets are ours). The far links are made
 * after (linkFarBuckets), and lookups for the remaining holes run in the first maintenance rounds.
 */
export async function join(ctx: OverlayContext, router: Router, stabilizer: Stabilizer, signaling: OverlaySignaling): Promise<void> {
  const { table, config, contacts } = ctx;
  // The route starts at our link closest to our id: from here it would end at once, since no link is
  // closer to our own id than we are.
  const closest = await findNeighbourhood(ctx, router, table.closestPeers(ctx.self, 1)[0]);
  ctx.events.emit('joinPhase', { phase: 'found' });
  const first = closest.filter((id) => table.fitsNeighbourhood(id)).slice(0, config.neighbourhoodSize);
  // A link that does not open soon goes on in the background: stabilization links the neighbourhood
  // anyway, and one slow WebRTC setup must not hold the whole join for a route timeout.
  const links = Promise.all(first.map((id) => signaling.connect(id, contacts.introducerOf(id))));
  await Promise.race([links, sleep(ctx.clock, JOIN_LINK_WAIT_MS)]);
  ctx.events.emit('joinPhase', { phase: 'linked' });
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
