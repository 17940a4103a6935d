// Crash 20% at once: consistent again within failure detection plus one maintenance round.
// Partition into two halves and heal: one overlay again, every node reachable from every other.
import { describe, expect, it } from 'vitest';
import { DEFAULT_OVERLAY_CONFIG } from '../../src/overlay/config.ts';
import { inconsistentRoutes, joinAtRate, lookups } from '../../sim/scenarios.ts';
import { SimWorld } from '../../sim/world.ts';

const N = 1_000;
const detectionMs = DEFAULT_OVERLAY_CONFIG.suspectSilenceMs + DEFAULT_OVERLAY_CONFIG.detectorTickMs + 2 * DEFAULT_OVERLAY_CONFIG.pingTimeoutMs;

describe('overlay failures', () => {
  it('is consistent again after 20% of nodes crash at once', async () => {
    const world = new SimWorld({ seed: 3, traceFrames: false });
    await joinAtRate(world, N, 20);
    await world.sim.runFor(3 * 60_000);
    const victims = [...world.liveJoined].slice(0, N / 5);
    for (const id of victims) world.crash(id, true);
    const keys = Array.from({ length: 200 }, () => world.randomKey());
    const healed = await world.sim.runUntil(
      () => inconsistentRoutes(world, keys) === 0,
      detectionMs + DEFAULT_OVERLAY_CONFIG.maintenanceMs * 1.2,
      5_000,
    );
    expect(healed).toBe(true);
  });

  it('becomes one overlay again after a partition into two halves heals', async () => {
    const world = new SimWorld({ seed: 4, traceFrames: false });
    await joinAtRate(world, N, 20);
    await world.sim.runFor(3 * 60_000);
    const half = new Set([...world.liveJoined].filter((_, i) => i % 2 === 0));
    world.network.partition((id) => (half.has(id) ? 0 : 1));
    await world.sim.runFor(3 * 60_000);
    world.network.heal();
    const keys = Array.from({ length: 200 }, () => world.randomKey());
    const merged = await world.sim.runUntil(() => inconsistentRoutes(world, keys) === 0, 15 * 60_000, 30_000);
    expect(merged).toBe(true);
    const stats = await lookups(world, 500, 50);
    expect(stats.succeeded).toBe(stats.attempted);
  });
});
