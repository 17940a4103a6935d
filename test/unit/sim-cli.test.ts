import { describe, expect, it } from 'vitest';
import { parseSimArgs } from '../../sim/cli-args.ts';
import { Progress } from '../../sim/progress.ts';
import type { SimWorld } from '../../sim/world.ts';

describe('npm run sim: options', () => {
  it('defaults to the benchmark join rate, and reads every option', () => {
    expect(parseSimArgs([])).toMatchObject({ scenario: 'static', n: 1000, seed: 1, rate: 20, settle: 120, quiet: false });
    expect(parseSimArgs(['static', '--n', '10000']).rate).toBe(100);
    expect(parseSimArgs(['churn', '--n', '500', '--seed', '7', '--rate', '50', '--minutes', '5', '--session', '2', '--lookups', '4', '--pareto', '--quiet']))
      .toEqual({ scenario: 'churn', n: 500, seed: 7, rate: 50, settle: 120, minutes: 5, session: 2, lookups: 4, pareto: true, share: 0.2, quiet: true, workers: 1 });
    expect(parseSimArgs(['crash', '--share', '0.5']).share).toBe(0.5);
    // Two threads for a static run from 2,000 nodes on, unless told otherwise; one for anything else.
    expect(parseSimArgs(['static', '--n', '1999']).workers).toBe(1);
    expect(parseSimArgs(['static', '--n', '2000']).workers).toBe(2);
    expect(parseSimArgs(['static', '--n', '10000', '--workers', '1']).workers).toBe(1);
    expect(parseSimArgs(['static', '--n', '300', '--workers', '3']).workers).toBe(3);
    expect(parseSimArgs(['crash', '--n', '5000']).workers).toBe(1);
  });

  it('refuses what it does not know before anything runs, and says what is wrong', () => {
    expect(() => parseSimArgs(['statik'])).toThrow(/unknown scenario "statik": one of static, churn, crash, partition/);
    expect(() => parseSimArgs(['static', '--nn', '3'])).toThrow(/unknown option "--nn"/);
    expect(() => parseSimArgs(['static', '3000'])).toThrow(/unknown option "3000"/);
    expect(() => parseSimArgs(['static', '--n', 'abc'])).toThrow(/--n needs a number of 0 or more, not "abc"/);
    expect(() => parseSimArgs(['static', '--n'])).toThrow(/--n needs a number of 0 or more, not nothing/);
    expect(() => parseSimArgs(['static', '--n', '2.5'])).toThrow(/whole number of nodes/);
    expect(() => parseSimArgs(['static', '--n', '1'])).toThrow(/at least 2/);
    expect(() => parseSimArgs(['static', '--rate', '0'])).toThrow(/--rate must be more than 0/);
    expect(() => parseSimArgs(['static', '--seed', '-1'])).toThrow(/--seed needs a number of 0 or more/);
    expect(() => parseSimArgs(['static', '--seed', '1.5'])).toThrow(/--seed must be a whole number below 2\^32/);
    expect(() => parseSimArgs(['static', '--seed', String(2 ** 32 + 1)])).toThrow(/below 2\^32/);
    expect(() => parseSimArgs(['crash', '--share', '1.5'])).toThrow(/at most 1/);
    expect(() => parseSimArgs(['static', '--workers', '0'])).toThrow(/--workers must be a whole number from 1 to 8, not 0/);
    expect(() => parseSimArgs(['static', '--workers', '1.5'])).toThrow(/--workers must be a whole number/);
    expect(() => parseSimArgs(['static', '--workers', '9'])).toThrow(/from 1 to 8/);
    expect(() => parseSimArgs(['churn', '--workers', '2'])).toThrow(/static scenario only, not churn/);
  });
});

describe('npm run sim: progress', () => {
  it('reports the phase, simulated time since the start, nodes, frames and wall time', () => {
    let simNow = 1_000_000;
    let wall = 5_000;
    const world = {
      sim: { now: () => simNow },
      network: { totalFrames: 0 },
      liveJoined: [] as string[],
      nodes: { size: 0 },
    };
    const lines: string[] = [];
    const progress = new Progress(world as unknown as SimWorld, { write: (l) => lines.push(l), wallNow: () => wall });
    progress.phase('join of 3 nodes');
    simNow += 12_500;
    wall += 61_000;
    world.network.totalFrames = 1_234_567;
    world.liveJoined = ['a', 'b'];
    world.nodes.size = 3;
    progress.report();
    expect(lines).toEqual([
      'sim: join of 3 nodes, 0.0 s simulated, 0 nodes live and joined (0 created), 0 frames, 0 s wall',
      'sim: join of 3 nodes, 12.5 s simulated, 2 nodes live and joined (3 created), 1.23M frames, 61 s wall',
    ]);
  });

  it('times the phases given a key, each until the next phase or the stop', () => {
    let wall = 0;
    const world = { sim: { now: () => 0 }, network: { totalFrames: 0 }, liveJoined: [], nodes: { size: 0 } };
    const progress = new Progress(world as unknown as SimWorld, { write: () => undefined, wallNow: () => wall });
    progress.phase('join', 'join');
    wall += 2_500;
    progress.phase('a phase not timed');
    wall += 1_000;
    progress.phase('lookups', 'lookups');
    wall += 400;
    progress.stop();
    expect(progress.seconds).toEqual({ join: 2.5, lookups: 0.4 });
  });
});
