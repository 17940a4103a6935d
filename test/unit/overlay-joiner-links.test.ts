// A joiner's first links are its only way in: the members at their other ends must not close them to
// make room or to trim their tables before the joiner said it is ready.
import { describe, expect, it } from 'vitest';
import type { Id } from '../../src/core/id.ts';
import { joinAtRate } from '../../sim/scenarios.ts';
import { SimWorld } from '../../sim/world.ts';

type Internals = {
  maintenance: { trim(): void };
  table: { evictionCandidate(minAgeMs: number, now: number, forNeighbour?: boolean): Id | undefined; get(id: Id): { joining?: boolean } | undefined; isRedundant(id: Id): boolean };
};

describe("a joiner's first links", () => {
  it('are neither trimmed nor evicted by the member while the joiner joins', async () => {
    // Members keep no spare link at all (trim above 1 link), and a joiner gets one server link.
    const world = new SimWorld({ seed: 6, traceFrames: false, config: { trimAboveLinks: 1, bootstrapLinks: 1 } });
    await joinAtRate(world, 20, 10);
    await world.sim.runFor(5_000);
    const joiner = world.addNode();
    const seen: Array<{ joining?: boolean; spare: boolean; candidate: Id | undefined; keptAfterTrim: boolean }> = [];
    for (const member of [...world.nodes.values()].filter((n) => n !== joiner)) {
      member.overlay.events.on('linkUp', ({ id, via }) => {
        if (id !== joiner.id || via !== 'server') return;
        const internals = member.overlay as unknown as Internals;
        const joining = internals.table.get(joiner.id)?.joining;
        // The case that matters: a link the member itself does not need.
        const spare = internals.table.isRedundant(joiner.id);
        // Long past the link's minimum age, and asked for room for a neighbour: still not a candidate.
        const candidate = internals.table.evictionCandidate(0, world.sim.now() + 60_000, true);
        internals.maintenance.trim();
        seen.push({ joining, spare, candidate, keptAfterTrim: member.overlay.links().some((l) => l.id === joiner.id) });
      });
    }
    await world.sim.settle(world.startJoin(joiner), 30_000);
    expect(seen.some((s) => s.spare)).toBe(true);
    for (const s of seen) {
      expect(s.joining).toBe(true);
      expect(s.candidate).not.toBe(joiner.id);
      expect(s.keptAfterTrim).toBe(true);
    }
    expect(joiner.overlay.links().length).toBeGreaterThan(0);
  });
});
