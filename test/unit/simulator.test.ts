import { describe, expect, it } from 'vitest';
import { Simulator } from '../../sim/simulator.ts';
import { within } from '../../src/core/clock.ts';
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

describe('Simulator timer wheel', () => {
  it('keeps (time, scheduling) order for timers far ahead, set while running, and cleared', async () => {
    const sim = new Simulator();
    const rng = seededRng(11);
    const fired: number[] = [];
    const expected: Array<[number, number]> = [];
    let seq = 0;
    // Delays up to 4 minutes: beyond the wheel's span (about 65 s), so timers move from the heap into it.
    const schedule = (depth: number) => {
      const id = seq++;
      const at = sim.now() + Math.floor(rng.next() < 0.3 ? rng.next() * 240_000 : rng.next() * 2_000);
      const handle = sim.setTimeout(() => {
        fired.push(id);
        if (depth < 2 && rng.next() < 0.5) schedule(depth + 1);
        if (depth < 2 && rng.next() < 0.2) later.push(sim.setTimeout(() => fired.push(-1), 70_000));
      }, at - sim.now());
      if (rng.next() < 0.3) sim.clearTimeout(handle);
      else expected.push([at, id]);
    };
    const later: ReturnType<Simulator['setTimeout']>[] = [];
    for (let i = 0; i < 3_000; i++) schedule(0);
    await sim.runFor(100_000);
    for (const h of later) sim.clearTimeout(h);
    await sim.runFor(400_000);
    expect(sim.pending).toBe(0);
    expect(fired.filter((i) => i === -1).length).toBeGreaterThan(0);
    // Ids are numbered in scheduling order, and every timer's time is known: check the whole order.
    const order = new Map(expected.map(([at, id]) => [id, at]));
    const ran = fired.filter((i) => i >= 0);
    expect(new Set(ran)).toEqual(new Set(order.keys()));
    for (let i = 1; i < ran.length; i++) {
      const a = order.get(ran[i - 1]!)!;
      const b = order.get(ran[i]!)!;
      expect(a < b || (a === b && ran[i - 1]! < ran[i]!)).toBe(true);
    }
  });
});

describe('within (a wait with a deadline on a clock)', () => {
  it('says whether the time ran out, and leaves no timer behind when the work wins', async () => {
    const sim = new Simulator();
    const quick = within(sim, 1_000, new Promise<void>((resolve) => sim.setTimeout(resolve, 10)));
    await sim.runFor(20);
    expect(await quick).toBe(false);
    expect(sim.pending).toBe(0);
    const slow = within(sim, 1_000, new Promise(() => undefined));
    await sim.runFor(1_000);
    expect(await slow).toBe(true);
    expect(sim.pending).toBe(0);
  });
});
