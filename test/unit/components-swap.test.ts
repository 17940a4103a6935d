import { describe, expect, it } from 'vitest';
import { SelfmeshError } from '../../src/core/errors.ts';
import { ManualClock } from './helpers/manual-clock.ts';
import { counterDef, macrotask, makeRuntime } from './helpers/components.ts';

describe('hot swap', () => {
  it('loses, fails and reorders none of 10,000 calls from concurrent callers during swaps', async () => {
    const log: Array<{ v: string; caller: string; seq: number }> = [];
    // Some calls stay in flight across a macrotask, so each swap really has calls to drain.
    const work = () => (log.length % 7 === 0 ? macrotask() : undefined);
    const rt = makeRuntime();
    rt.install(counterDef('1.0.0', { log, work }));
    await rt.start('counter');

    const callers = 50;
    const perCaller = 200;
    const calls: Promise<unknown>[] = [];
    const swaps: ReturnType<typeof rt.swap>[] = [];
    const versions = [
      counterDef('1.1.0', { log, work, stateVersion: 2 }),
      counterDef('1.2.0', { log, work }),
      counterDef('2.0.0', { log, work, stateVersion: 2 }),
    ];
    for (let round = 0; round < perCaller; round++) {
      for (let c = 0; c < callers; c++) calls.push(rt.call('counter', 'inc', [`c${c}`, round], `c${c}`));
      if (round % 10 === 9) await macrotask();
      if (round === 40 || round === 100 || round === 160)
        swaps.push(rt.swap('counter', versions[swaps.length]!));
    }
    const results = await Promise.allSettled(calls);
    const reports = await Promise.all(swaps);

    expect(reports.map((r) => r.ok)).toEqual([true, true, true]);
    // The swaps really happened under load: calls were in flight to drain and new ones were held.
    expect(reports.every((r) => r.drained > 0 && r.held > 0)).toBe(true);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(results).toHaveLength(callers * perCaller);
    expect(log).toHaveLength(callers * perCaller);
    // Per caller, calls reached the instances in the order they were made.
    const last = new Map<string, number>();
    for (const e of log) {
      expect(e.seq).toBe((last.get(e.caller) ?? -1) + 1);
      last.set(e.caller, e.seq);
    }
    // Every version served calls, and the count survived three migrations.
    expect(new Set(log.map((e) => e.v))).toEqual(new Set(['1.0.0', '1.1.0', '1.2.0', '2.0.0']));
    expect(await rt.call('counter', 'get')).toBe(callers * perCaller);
    expect(rt.get('counter')!.version).toBe('2.0.0');
  });

  for (const [what, options, stage] of [
    ['throws in start', { failStart: true }, 'start'],
    ['throws in state migration', { failMigrate: true, stateVersion: 2 }, 'migrate'],
    ['fails its health check', { unhealthy: true }, 'health'],
  ] as const) {
    it(`keeps the old version running with its state when the new one ${what}`, async () => {
      const rt = makeRuntime();
      const reported: unknown[] = [];
      rt.events.on('swap', (r) => reported.push(r));
      rt.install(counterDef('1.0.0'));
      await rt.start('counter');
      for (let i = 0; i < 5; i++) await rt.call('counter', 'inc', ['x', i]);
      // A call made while the swap runs is held, then served by the old version.
      const swap = rt.swap('counter', counterDef('1.1.0', options));
      const during = rt.call('counter', 'inc', ['x', 5]);
      const report = await swap;
      expect(report.ok).toBe(false);
      expect(report.error?.stage).toBe(stage);
      expect(report.error?.message).toMatch(/1\.1\.0/);
      expect(reported).toEqual([report]);
      expect(await during).toBe(6);
      expect(await rt.call('counter', 'version')).toBe('1.0.0');
      expect(await rt.call('counter', 'get')).toBe(6);
      const d = rt.describe().components[0]!;
      expect(d).toMatchObject({ version: '1.0.0', state: 'started' });
      expect(d.lastError).toMatch(new RegExp(stage));
    });
  }

  it('abandons the swap when calls in flight do not end within the bound, and serves the held calls', async () => {
    const clock = new ManualClock();
    let finish!: () => void;
    const stuck = new Promise<void>((r) => (finish = r));
    const rt = makeRuntime(clock, { drainTimeoutMs: 500 });
    rt.install(counterDef('1.0.0', { work: () => stuck }));
    await rt.start('counter');
    const slow = rt.call('counter', 'inc', ['a', 0]);
    const swap = rt.swap('counter', counterDef('2.0.0'));
    const held = rt.call('counter', 'inc', ['a', 1]);
    await Promise.resolve();
    expect(rt.get('counter')!.membrane.stats()).toMatchObject({ holding: true, held: 1, inFlight: 1 });
    clock.advance(500);
    const report = await swap;
    expect(report).toMatchObject({ ok: false, error: { stage: 'drain', code: 'TIMEOUT' } });
    finish();
    expect(await slow).toBe(2);
    expect(await held).toBe(2);
    expect(rt.get('counter')!.version).toBe('1.0.0');
  });

  it('measures the pause as the time calls were held', async () => {
    const clock = new ManualClock();
    const rt = makeRuntime(clock);
    rt.install(counterDef('1.0.0'));
    await rt.start('counter');
    const report = await rt.swap('counter', counterDef('1.0.1'));
    expect(report).toMatchObject({ ok: true, pauseMs: 0, from: '1.0.0', to: '1.0.1' });
  });

  it('refuses a second swap while one runs, and a swap to another component', async () => {
    const rt = makeRuntime();
    rt.install(counterDef('1.0.0'));
    await rt.start('counter');
    const first = rt.swap('counter', counterDef('1.0.1'));
    const second = await rt.swap('counter', counterDef('1.0.2'));
    expect(second.error?.code).toBe('CONFLICT');
    expect((await first).ok).toBe(true);
    const other = { ...counterDef('3.0.0'), name: 'other' };
    expect((await rt.swap('counter', other)).error?.code).toBe('REFUSED');
  });

  it('refuses a new version that cannot read the state format', async () => {
    const rt = makeRuntime();
    rt.install(counterDef('1.0.0'));
    await rt.start('counter');
    await rt.call('counter', 'inc', ['x', 0]);
    const next = { ...counterDef('1.1.0', { stateVersion: 3 }), migrate: undefined };
    const report = await rt.swap('counter', next);
    expect(report.error).toMatchObject({ stage: 'migrate', code: 'REFUSED' });
    expect(await rt.call('counter', 'get')).toBe(1);
  });

  it('rejects calls to a stopped component with CLOSED', async () => {
    const rt = makeRuntime();
    rt.install(counterDef('1.0.0'));
    await expect(rt.call('counter', 'get')).rejects.toMatchObject({ code: 'CLOSED' });
    await rt.start('counter');
    await expect(rt.call('counter', 'start')).rejects.toBeInstanceOf(SelfmeshError);
    await rt.stop('counter');
    await expect(rt.call('counter', 'get')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
