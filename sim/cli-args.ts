// The options of `npm run sim`, checked before anything runs: a typo found after a 10,000-node join
// would cost minutes.

export const SCENARIOS = ['static', 'churn', 'crash', 'partition'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface SimArgs {
  scenario: Scenario;
  n: number;
  seed: number;
  /** Joins per simulated second. */
  rate: number;
  /** Simulated seconds of settling after the join. */
  settle: number;
  /** Churn: simulated minutes, mean session in minutes, lookups per second, heavy-tailed sessions. */
  minutes: number;
  session: number;
  lookups: number;
  pareto: boolean;
  /** Crash: the share of nodes that crash at once. */
  share: number;
  /** No progress lines on stderr. */
  quiet: boolean;
  /**
   * Threads a static run is split over (sim/sharded.ts). Default 2 from 2,000 nodes on (where it pays:
   * 1.4 times at 5,000), else 1; a fixed default, not the machine's cores, so a seed gives the same run
   * everywhere. Other scenarios run on one thread.
   */
  workers: number;
}

export const USAGE =
  'usage: npm run sim -- <static|churn|crash|partition> [--n 1000] [--seed 1] [--rate n/100] [--settle 120] ' +
  '[--minutes 30] [--session 10] [--lookups 2] [--pareto] [--share 0.2] [--workers 2 if static and n >= 2000, else 1] [--quiet]';

const NUMBERS = ['n', 'seed', 'rate', 'settle', 'minutes', 'session', 'lookups', 'share', 'workers'] as const;

/** Threads beyond this gain nothing on the machines this runs on, and each costs a copy of the runtime. */
export const MAX_WORKERS = 8;
const FLAGS = ['pareto', 'quiet'] as const;

/** Parses argv (after `npm run sim --`); throws an Error with a clear message on anything it does not know. */
export function parseSimArgs(argv: readonly string[]): SimArgs {
  const [first = 'static', ...rest] = argv;
  if (!(SCENARIOS as readonly string[]).includes(first)) {
    throw new Error(`unknown scenario "${first}": one of ${SCENARIOS.join(', ')}`);
  }
  const numbers = new Map<string, number>();
  const flags = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const name = rest[i]!.startsWith('--') ? rest[i]!.slice(2) : '';
    if ((FLAGS as readonly string[]).includes(name)) {
      flags.add(name);
    } else if ((NUMBERS as readonly string[]).includes(name)) {
      const text = rest[++i];
      const value = Number(text);
      if (text === undefined || text.trim() === '' || !Number.isFinite(value) || value < 0) {
        throw new Error(`--${name} needs a number of 0 or more, not ${text === undefined ? 'nothing' : `"${text}"`}`);
      }
      numbers.set(name, value);
    } else {
      throw new Error(`unknown option "${rest[i]}"`);
    }
  }
  const num = (name: string, fallback: number) => numbers.get(name) ?? fallback;
  const n = num('n', 1000);
  if (!Number.isInteger(n) || n < 2) throw new Error(`--n must be a whole number of nodes, at least 2, not ${n}`);
  const seed = num('seed', 1);
  // The generator takes the seed as 32 bits: 1.5 or 2^32 + 1 would silently run seed 1.
  if (!Number.isInteger(seed) || seed >= 2 ** 32) throw new Error(`--seed must be a whole number below 2^32, not ${seed}`);
  const share = num('share', 0.2);
  if (share > 1) throw new Error(`--share is a share of the nodes, at most 1, not ${share}`);
  const scenario = first as Scenario;
  const workers = num('workers', scenario === 'static' && n >= 2000 ? 2 : 1);
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new Error(`--workers must be a whole number from 1 to ${MAX_WORKERS}, not ${workers}`);
  }
  if (workers > 1 && scenario !== 'static') throw new Error(`--workers above 1 runs the static scenario only, not ${scenario}`);
  const positive = (name: string, value: number) => {
    if (value <= 0) throw new Error(`--${name} must be more than 0`);
    return value;
  };
  return {
    scenario,
    n,
    seed,
    rate: positive('rate', num('rate', Math.max(20, n / 100))),
    settle: num('settle', 120),
    minutes: num('minutes', 30),
    session: positive('session', num('session', 10)),
    lookups: positive('lookups', num('lookups', 2)),
    pareto: flags.has('pareto'),
    share,
    quiet: flags.has('quiet'),
    workers,
  };
}
