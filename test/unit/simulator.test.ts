import { describe, expect, it } from 'vitest';
import { Simulator } from '../../sim/simulator.ts';
import { seededRng } from '../../src/core/rng.ts';

describe('Simulator timers', () => {
  it('runs timers in (time, scheduling) order, and cleared ones never, across heap compactions', async () => {
    const sim = new Simulator();
    const rng = seededRng(7);
    const fired: number[] = [];
    const expected: Array<[number, number]> = [];
    // Enough cleared timers to force several compactions while others stay pending.
    for (let i = 0; i < 20_000; i++) {
      const at = Math.floor(rng.next() * 5_000);
      const handle = sim.setTimeout(() => fired.push(i), at);
      if (rng.next() < 0.8) sim.clearTimeout(handle);
      else expected.push([at, i]);
    }
    expect(sim.pending).toBeLessThan(20_000);
    await sim.runFor(5_000);
    expected.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(fired).toEqual(expected.map(([, i]) => i));
    expect(sim.pending).toBe(0);
  });

  it('a timer cleared after it fired does not upset the count of cleared ones', async () => {
    const sim = new Simulator();
    const fired: number[] = [];
    const handles = Array.from({ length: 3_000 }, (_, i) => sim.setTimeout(() => fired.push(i), 10));
    await sim.runFor(20);
    for (const h of handles) sim.clearTimeout(h);
    const later = Array.from({ length: 3_000 }, (_, i) => sim.setTimeout(() => fired.push(10_000 + i), 10));
    for (const h of later.slice(0, 1_500)) sim.clearTimeout(h);
    await sim.runFor(20);
    expect(fired.length).toBe(4_500);
    expect(fired.slice(3_000)).toEqual(Array.from({ length: 1_500 }, (_, i) => 11_500 + i));
  });
});
