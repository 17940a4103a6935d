import { describe, expect, it } from 'vitest';
import { MemoryTradingPort, Trader } from '../../src/components/trading.ts';
import { compareVersions, maxVersion, satisfies } from '../../src/components/semver.ts';
import { ManualClock } from './helpers/manual-clock.ts';
import { counterDef, makeRuntime } from './helpers/components.ts';

const id = (c: string) => c.repeat(64);

describe('trading', () => {
  it('finds providers by interface and version range, least loaded first, without stale or malformed offers', async () => {
    const clock = new ManualClock();
    const port = new MemoryTradingPort();
    const trader = (n: string) => new Trader(port, { clock, node: id(n), ttlMs: 10_000 });
    await trader('a').advertise('chat', 'chat', '1.0.0', 5);
    await trader('b').advertise('chat', 'chat', '2.0.0', 1);
    await trader('c').advertise('chat', 'chat', '2.1.0', 3);
    await trader('d').advertise('kv', 'kv', '1.0.0', 0);
    await port.put('chat', {
      node: 'not-an-id',
      component: 'chat',
      iface: 'chat',
      version: '9.0.0',
      load: 0,
      at: 0,
    });
    const finder = trader('e');
    expect((await finder.findProviders('chat', '^2')).map((o) => [o.node[0], o.version, o.load])).toEqual([
      ['b', '2.0.0', 1],
      ['c', '2.1.0', 3],
    ]);
    expect((await finder.findProviders('chat')).map((o) => o.node[0])).toEqual(['b', 'c', 'a']);
    expect((await finder.pick('chat', '*', 'newest'))?.version).toBe('2.1.0');
    expect((await finder.pick('chat', '>=1.0.0 <2.0.0'))?.node).toBe(id('a'));
    // b refreshes; the others go quiet and age out.
    clock.advance(8000);
    await trader('b').advertise('chat', 'chat', '2.0.0', 4);
    clock.advance(3000);
    expect((await finder.findProviders('chat')).map((o) => [o.node[0], o.load])).toEqual([['b', 4]]);
  });

  it('lets a runtime advertise what it runs', async () => {
    const clock = new ManualClock();
    const port = new MemoryTradingPort();
    const rt = makeRuntime(clock, { trader: new Trader(port, { clock, node: id('a') }) });
    rt.install(counterDef('1.2.3'));
    await rt.advertise();
    expect(await port.list('counter')).toEqual([]);
    await rt.start('counter');
    await rt.advertise();
    expect(await new Trader(port, { clock, node: id('b') }).findProviders('counter', '~1.2')).toMatchObject([
      { node: id('a'), component: 'counter', version: '1.2.3', load: 0 },
    ]);
  });
});

describe('semver', () => {
  it('compares and matches ranges', () => {
    expect(['1.0.0', '1.0.0-rc.1', '0.9.9', '1.10.0', '1.2.0'].sort(compareVersions)).toEqual([
      '0.9.9',
      '1.0.0-rc.1',
      '1.0.0',
      '1.2.0',
      '1.10.0',
    ]);
    expect(maxVersion(['1.0.0', 'junk', '2.0.0-beta', '1.5.0'])).toBe('2.0.0-beta');
    const cases: Array<[string, string, boolean]> = [
      ['1.2.3', '^1.0.0', true],
      ['2.0.0', '^1.0.0', false],
      ['0.2.5', '^0.2.1', true],
      ['0.3.0', '^0.2.1', false],
      ['1.2.9', '~1.2.3', true],
      ['1.3.0', '~1.2.3', false],
      ['1.5.0', '1.x', true],
      ['2.0.0', '1.x || >=3', false],
      ['3.1.0', '1.x || >=3', true],
      ['1.0.0', '*', true],
      ['2.0.0-beta', '^1.0.0 || ^2.0.0', false],
      ['2.0.0-beta.2', '>=2.0.0-beta.1', true],
      ['1.4.0', '1.2.0 - 1.4.0', true],
      ['1.4.1', '1.2.0 - 1.4.0', false],
      ['1.4.1', '<=1.4', true],
      ['1.5.0', '>1.4', true],
      ['1.4.9', '>1.4', false],
    ];
    for (const [v, r, want] of cases) expect([v, r, satisfies(v, r)]).toEqual([v, r, want]);
  });
});
