// A joiner finds its neighbourhood with one route and links it in one round: the join route must end at
// the node responsible for the joiner's id, not at the joiner (which no link of its own is closer to).
import { describe, expect, it } from 'vitest';
import { compareDistance } from '../../src/core/id.ts';
import { joinAtRate } from '../../sim/scenarios.ts';
import { SimWorld } from '../../sim/world.ts';

describe('join route', () => {
  it('links the whole neighbourhood before stabilizing, with no offer failing', async () => {
    const world = new SimWorld({ seed: 21, traceFrames: false });
    await joinAtRate(world, 40, 10);
    await world.sim.runFor(30_000);
    const node = world.addNode();
    const size = node.overlay.config.neighbourhoodSize;
    let linkedAtPhase: string[] | undefined;
    node.overlay.events.on('joinPhase', ({ phase }) => {
      if (phase === 'linked') linkedAtPhase = node.overlay.links().map((l) => l.id);
    });
    await world.sim.settle(world.startJoin(node), 30_000);
    const truth = world.liveJoined.filter((id) => id !== node.id).sort((a, b) => compareDistance(node.id, a, b)).slice(0, size);
    expect(linkedAtPhase).toBeDefined();
    expect(truth.filter((id) => !linkedAtPhase!.includes(id))).toEqual([]);
    expect(node.counters.get('overlay.connect.failed')).toBe(0);
  });
});
