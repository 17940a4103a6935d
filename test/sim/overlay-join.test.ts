// Join makes the neighbourhood consistent by construction (stabilize + introductions), so routing is
// correct as soon as every join has resolved, without waiting for maintenance. And `disconnect` closes
// a link on purpose without either end declaring the other dead.
import { describe, expect, it } from 'vitest';
import { inconsistentRoutes, joinAtRate, lookups } from '../../sim/scenarios.ts';
import { SimWorld } from '../../sim/world.ts';

describe('overlay join', () => {
  it('is consistent within two maintenance rounds after nodes joining at the same time have joined', async () => {
    const world = new SimWorld({ seed: 7, traceFrames: false });
    await joinAtRate(world, 200, 40);
    // Right after the joins, almost every walk is right already (seed 7 left 12 of 60,000 wrong: joins
    // racing at 40/s); maintenance settles the rest within two rounds.
    const keys = Array.from({ length: 300 }, () => world.randomKey());
    await world.sim.runFor(1_000);
    expect(inconsistentRoutes(world, keys)).toBeLessThan(60);
    await world.sim.runFor(60_000);
    expect(inconsistentRoutes(world, keys)).toBe(0);
    const stats = await lookups(world, 200, 100);
    expect(stats.succeeded).toBe(stats.attempted);
  });

  it('closes a link on purpose with disconnect, and nobody is declared dead', async () => {
    const world = new SimWorld({ seed: 8, traceFrames: false });
    await joinAtRate(world, 30, 10);
    await world.sim.runFor(5_000);
    const a = world.nodes.get(world.liveJoined[0]!)!;
    const peer = a.overlay.links()[0]!.id;
    let dead = 0;
    for (const node of world.nodes.values()) node.overlay.events.on('dead', () => dead++);
    a.overlay.disconnect(peer);
    expect(a.overlay.links().some((l) => l.id === peer)).toBe(false);
    // The far end hears of the close within a latency (before any repair round could link again).
    await world.sim.runFor(700);
    expect(world.nodes.get(peer)!.overlay.links().some((l) => l.id === a.id)).toBe(false);
    await world.sim.runFor(60_000);
    expect(dead).toBe(0);
  });
});
