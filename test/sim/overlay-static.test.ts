// N = 1,000 after stabilisation: for 1,000 random keys, every node's route ends at the true closest node.
import { describe, expect, it } from 'vitest';
import { inconsistentRoutes, joinAtRate, lookups } from '../../sim/scenarios.ts';
import { SimWorld } from '../../sim/world.ts';

describe('static overlay, N = 1,000', () => {
  it('routes every key from every node to the true closest node', async () => {
    const world = new SimWorld({ seed: 1, traceFrames: false });
    await joinAtRate(world, 1_000, 20);
    await world.sim.runFor(5 * 60_000);
    const keys = Array.from({ length: 1_000 }, () => world.randomKey());
    expect(inconsistentRoutes(world, keys)).toBe(0);
    // The same through real messages, for a sample of routes.
    const stats = await lookups(world, 1_000, 100);
    expect(stats.succeeded).toBe(stats.attempted);
    const maxLinks = Math.max(...world.liveJoined.map((id) => world.nodes.get(id)!.overlay.links().length));
    expect(maxLinks).toBeLessThanOrEqual(64);
  });
});
