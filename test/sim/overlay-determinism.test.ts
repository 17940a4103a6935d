import { describe, expect, it } from 'vitest';
import { joinAtRate, lookups } from '../../sim/scenarios.ts';
import { SimWorld } from '../../sim/world.ts';

async function run(seed: number) {
  const world = new SimWorld({ seed });
  await joinAtRate(world, 60, 20);
  await world.sim.runFor(30_000);
  const stats = await lookups(world, 100, 50);
  return { hash: world.trace.digest(), events: world.trace.count, succeeded: stats.succeeded };
}

describe('simulator determinism', () => {
  it('gives the same trace hash for the same seed, and another for another seed', async () => {
    const first = await run(42);
    const second = await run(42);
    expect(second).toEqual(first);
    expect(first.events).toBeGreaterThan(1000);
    expect((await run(43)).hash).not.toBe(first.hash);
  });
});
