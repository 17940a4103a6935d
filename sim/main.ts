// `npm run sim -- <static|churn|crash|partition> --n 1000 --seed 1 [--rate n/100] [--minutes 30] [--session 10] [--pareto] [--workers k]`
// Nodes join at `--rate` a second (default n/100, at least 20: the benchmark's rate, so 10,000 nodes
// take 100 simulated seconds to come in rather than 500). Prints the result as JSON on stdout, and a
// progress line on stderr every 10 s of wall time (`--quiet`: none). A static run of 2,000 nodes or
// more is split over two threads (sim/sharded.ts) unless `--workers 1` says otherwise.
import { parseSimArgs, USAGE, type SimArgs } from './cli-args.ts';
import { Progress } from './progress.ts';
import { churn, inconsistentRoutes, joinAtRate, lookups, mean, percentile } from './scenarios.ts';
import { runSharded } from './sharded.ts';
import { SimWorld } from './world.ts';

let args: SimArgs;
try {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    process.exit(0);
  }
  args = parseSimArgs(process.argv.slice(2));
} catch (e) {
  console.error(`${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
const { scenario, n, seed } = args;
if (args.workers > 1) {
  const result = await runSharded({
    n, seed, rate: args.rate, settleSeconds: args.settle, workers: args.workers,
    onProgress: args.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  const { hops: _hops, ...shown } = result;
  console.log(JSON.stringify(shown, null, 2));
  process.exit(result.errors.length > 0 ? 1 : 0);
}
const started = performance.now();
const world = new SimWorld({ seed });
// The simulated clock does not start at 0: simSeconds is the time this run simulated.
const simStarted = world.sim.now();
const progress = args.quiet ? null : new Progress(world).start();
progress?.phase(`join of ${n} nodes at ${args.rate} a second`);
await joinAtRate(world, n, args.rate);
progress?.phase(`settling for ${args.settle} s`);
await world.sim.runFor(args.settle * 1000);
const keys = Array.from({ length: 200 }, () => world.randomKey());
let extra: Record<string, unknown> = {};
if (scenario !== 'static') progress?.phase(scenario);
if (scenario === 'churn') {
  const stats = await churn(world, {
    meanSessionMs: args.session * 60_000,
    distribution: args.pareto ? 'pareto' : 'exponential',
    durationMs: args.minutes * 60_000,
    lookupsPerSecond: args.lookups,
  });
  extra = { successRate: stats.succeeded / stats.attempted, failures: stats.failures };
} else if (scenario === 'crash') {
  for (const id of [...world.liveJoined].slice(0, Math.floor(n * args.share))) world.crash(id);
  const t0 = world.sim.now();
  const ok = await world.sim.runUntil(() => inconsistentRoutes(world, keys) === 0, 10 * 60_000, 5_000);
  extra = { consistentAgain: ok, afterMs: world.sim.now() - t0 };
} else if (scenario === 'partition') {
  const half = new Set([...world.liveJoined].filter((_, i) => i % 2 === 0));
  world.network.partition((id) => (half.has(id) ? 0 : 1));
  await world.sim.runFor(3 * 60_000);
  world.network.heal();
  const t0 = world.sim.now();
  const ok = await world.sim.runUntil(() => inconsistentRoutes(world, keys) === 0, 20 * 60_000, 30_000);
  extra = { mergedAgain: ok, afterMs: world.sim.now() - t0 };
}
progress?.phase('1,000 lookups');
const stats = await lookups(world, 1000, 100);
progress?.stop();
const links = world.liveJoined.map((id) => world.nodes.get(id)!.overlay.links().length);
console.log(JSON.stringify({
  scenario, n, seed, live: world.liveJoined.length,
  lookupSuccess: stats.succeeded / stats.attempted, hopsMean: mean(stats.hops), hopsP99: percentile(stats.hops, 99),
  linksMean: mean(links), linksMax: Math.max(...links), inconsistent: inconsistentRoutes(world, keys),
  ...extra, traceHash: world.trace.digest(), simSeconds: (world.sim.now() - simStarted) / 1000, wallSeconds: (performance.now() - started) / 1000,
}, null, 2));
process.exit(0);
