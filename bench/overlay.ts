// `npm run bench -- overlay [--json] [--max-n 1000] [--seed 1] [--only 10000|1000:10|... [--keep]]`:
// hops, links, success and idle maintenance cost of the overlay in the simulator; writes
// bench/results/overlay.svg (hops against n). `--only n` or `--only n:minutes` runs one row; with
// `--keep` the other rows of bench/results/overlay.json are kept.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Progress } from '../sim/progress.ts';
import { churn, joinAtRate, lookups, mean, percentile } from '../sim/scenarios.ts';
import { runSharded } from '../sim/sharded.ts';
import { SimWorld } from '../sim/world.ts';
import { linePlot } from './plot.ts';

export interface OverlayRow {
  n: number;
  churn: number | null;
  hopsMean: number;
  hopsP99: number;
  linksMean: number;
  linksMax: number;
  successRate: number;
  maintenanceBytesPerNodePerSec: number | null;
  /** Lookups that failed, by error code ('wrong': answered by a node that was not the closest). */
  failures: Record<string, number>;
  /** Lookups left out of successRate because their origin departed before the answer. */
  originGone: number;
  wallSeconds: number;
  /** Wall seconds per phase: the join of all n, the settling minutes, then idle + lookups or the churn. */
  phaseSeconds: Record<string, number>;
  /** Threads the run was split over (sim/sharded.ts): 2 for a static row of 2,000 nodes or more. */
  workers: number;
}

const IDLE_WINDOW_MS = 120_000;

async function runOne(n: number, sessionMinutes: number | null, seed: number): Promise<OverlayRow> {
  if (sessionMinutes === null && n >= 2_000) return runSplit(n, seed);
  const started = performance.now();
  const world = new SimWorld({ seed, traceFrames: false });
  // On stderr, every 10 s of wall time: the 10,000-node row runs for minutes.
  const progress = new Progress(world).start();
  const row = `n = ${n}${sessionMinutes === null ? '' : `, ${sessionMinutes}-minute sessions`}`;
  progress.phase(`${row}: join`, 'join');
  await joinAtRate(world, n, Math.max(20, n / 100));
  progress.phase(`${row}: settling for 3 minutes`, 'settle');
  await world.sim.runFor(3 * 60_000);
  let maintenance: number | null = null;
  let stats;
  if (sessionMinutes === null) {
    // Idle cost: everything sent while nobody asks anything.
    const before = world.network.totalBytes;
    progress.phase(`${row}: idle for 2 minutes`, 'idle');
    await world.sim.runFor(IDLE_WINDOW_MS);
    maintenance = (world.network.totalBytes - before) / world.liveJoined.length / (IDLE_WINDOW_MS / 1000);
    progress.phase(`${row}: lookups`, 'lookups');
    stats = await lookups(world, Math.min(2_000, 2 * n), 100);
  } else {
    progress.phase(`${row}: 30 minutes of churn`, 'churn');
    stats = await churn(world, { meanSessionMs: sessionMinutes * 60_000, distribution: 'exponential', durationMs: 30 * 60_000, lookupsPerSecond: 2 });
  }
  progress.stop();
  const links = world.liveJoined.map((id) => world.nodes.get(id)!.overlay.links().length);
  return {
    n, churn: sessionMinutes, hopsMean: mean(stats.hops), hopsP99: percentile(stats.hops, 99),
    linksMean: mean(links), linksMax: Math.max(...links), successRate: stats.succeeded / stats.attempted,
    maintenanceBytesPerNodePerSec: maintenance, failures: stats.failures, originGone: stats.originGone, wallSeconds: (performance.now() - started) / 1000,
    phaseSeconds: progress.seconds, workers: 1,
  };
}

/** A large static row, on two threads: the same phases as runOne. */
async function runSplit(n: number, seed: number): Promise<OverlayRow> {
  const result = await runSharded({
    n, seed, rate: Math.max(20, n / 100), settleSeconds: 180, idleSeconds: IDLE_WINDOW_MS / 1000, workers: 2,
    lookups: Math.min(2_000, 2 * n), lookupsPerSecond: 100, onProgress: (line) => console.error(line),
  });
  if (result.errors.length > 0) throw new Error(`n = ${n}: callbacks threw: ${result.errors.join('; ')}`);
  return {
    n, churn: null, hopsMean: result.hopsMean, hopsP99: result.hopsP99, linksMean: result.linksMean, linksMax: result.linksMax,
    successRate: result.lookupSuccess, maintenanceBytesPerNodePerSec: result.maintenanceBytesPerNodePerSec, failures: result.failures,
    originGone: 0, wallSeconds: result.wallSeconds, phaseSeconds: result.phaseSeconds, workers: 2,
  };
}

export async function run(args: string[]): Promise<OverlayRow[]> {
  const opt = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const maxN = opt('max-n', 10_000);
  const seed = opt('seed', 1);
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const label = ([n, session]: [number, number | null]) => (session === null ? `${n}` : `${n}:${session}`);
  const plan: Array<[number, number | null]> = [[100, null], [1_000, null], [10_000, null], [1_000, 10], [1_000, 2]];
  // A typo must not run nothing and then write an empty results file over the measured rows.
  if (only !== undefined && !plan.some((p) => label(p) === only)) {
    throw new RangeError(`--only ${only}: no such row; one of ${plan.map(label).join(', ')}`);
  }
  const measured: OverlayRow[] = [];
  for (const row of plan.filter((p) => p[0] <= maxN && (only === undefined || label(p) === only))) {
    const result = await runOne(row[0], row[1], seed);
    console.error(JSON.stringify(result));
    measured.push(result);
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const file = join(here, 'results', 'overlay.json');
  // One row re-measured (--only --keep): the file keeps the other rows, in plan order.
  const kept = only !== undefined && args.includes('--keep') && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as OverlayRow[]) : [];
  const same = (a: OverlayRow, b: OverlayRow) => a.n === b.n && a.churn === b.churn;
  const order = (r: OverlayRow) => plan.findIndex(([n, session]) => n === r.n && session === r.churn);
  const rows = [...kept.filter((k) => !measured.some((m) => same(k, m))), ...measured].sort((a, b) => order(a) - order(b));
  const statics = rows.filter((r) => r.churn === null);
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'overlay.svg'), linePlot({
    title: 'Overlay hops against network size', xLabel: 'n (nodes)', yLabel: 'hops', logX: true,
    series: [
      { name: 'hops mean', points: statics.map((r) => [r.n, r.hopsMean]) },
      { name: 'hops p99', points: statics.map((r) => [r.n, r.hopsP99]) },
      { name: 'log2(n)', points: statics.map((r) => [r.n, Math.log2(r.n)]) },
    ],
  }));
  return rows;
}
