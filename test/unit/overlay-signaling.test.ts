// Links signaled through the overlay when one end of an old link is gone and the other is not.
import { describe, expect, it } from 'vitest';
import type { Id } from '../../src/core/id.ts';
import type { Overlay } from '../../src/overlay/overlay.ts';
import { joinAtRate } from '../../sim/scenarios.ts';
import { SimWorld } from '../../sim/world.ts';

/** Forgets the link to `peer` on this side only, as when a close never reached this end's peer. */
function forgetOneSide(overlay: Overlay, peer: Id): void {
  const internals = overlay as unknown as { table: { get(id: Id): unknown }; detach(p: unknown, reason: string): void };
  internals.detach(internals.table.get(peer), 'lost');
}

async function linkedPair() {
  const world = new SimWorld({ seed: 11 });
  await joinAtRate(world, 8, 5);
  await world.sim.runFor(2_000);
  const a = world.nodes.get(world.liveJoined[0]!)!;
  const b = world.nodes.get(a.overlay.links()[0]!.id)!;
  return { world, a, b };
}

describe('overlay signaling', () => {
  it('replaces the stale half of a link when its peer, which lost its end, offers again', async () => {
    const { world, a, b } = await linkedPair();
    await world.sim.runFor(10_000);
    const before = b.overlay.links().find((l) => l.id === a.id)!;
    forgetOneSide(a.overlay, b.id);
    expect(a.overlay.links().some((l) => l.id === b.id)).toBe(false);
    expect(await world.sim.settle(a.overlay.connect(b.id), 20_000)).toBe(true);
    const after = b.overlay.links().find((l) => l.id === a.id)!;
    expect(after.linkedAt).toBeGreaterThan(before.linkedAt);
    expect(b.counters.get('overlay.connect.staleReplaced')).toBe(1);
    // Both ends now use the new link: a request over it is answered.
    expect(await world.sim.settle(a.overlay.request(b.id, 'ov.ping', null), 5_000)).not.toBeUndefined();
  });

  it('refuses an offer from a peer whose link just opened (its offer crossed the link)', async () => {
    const { world, a, b } = await linkedPair();
    await world.sim.runFor(10_000);
    forgetOneSide(a.overlay, b.id);
    expect(await world.sim.settle(a.overlay.connect(b.id), 20_000)).toBe(true);
    const linkedAt = b.overlay.links().find((l) => l.id === a.id)!.linkedAt;
    expect(world.sim.now() - linkedAt).toBeLessThan(5_000);
    forgetOneSide(a.overlay, b.id);
    expect(await world.sim.settle(a.overlay.connect(b.id), 20_000)).toBe(false);
    expect(b.counters.get('overlay.connect.staleReplaced')).toBe(1);
    expect(b.overlay.links().find((l) => l.id === a.id)!.linkedAt).toBe(linkedAt);
  });
});
