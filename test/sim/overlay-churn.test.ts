// Churn with a mean session of 10 minutes for 30 simulated minutes at N = 1,000: >= 99% of lookups succeed.
import { describe, expect, it } from 'vitest';
import { churn, joinAtRate } from '../../sim/scenarios.ts';
import { SimWorld } from '../../sim/world.ts';

describe('overlay under churn', () => {
  it('keeps at least 99% of lookups successful', async () => {
    const world = new SimWorld({ seed: 2, traceFrames: false });
    await joinAtRate(world, 1_000, 20);
    await world.sim.runFor(2 * 60_000);
    const stats = await churn(world, { meanSessionMs: 10 * 60_000, distribution: 'exponential', durationMs: 30 * 60_000, lookupsPerSecond: 2 });
    expect(stats.attempted).toBeGreaterThan(3000);
    expect(stats.succeeded / stats.attempted).toBeGreaterThanOrEqual(0.99);
  });
});
