// `npm run sim -- <static|churn|crash|partition> --n 1000 --seed 1 [--rate n/100] [--minutes 30] [--session 10] [--pareto]`
// Nodes join at `--rate` a second (default n/100, at least 20: the benchmark's rate, so 10,000 nodes
// take 100 simulated seconds to come in rather than 500).
import { churn, inconsistentRoutes, joinAtRate, lookups, mean, percentile } from './scenarios.ts';
import { SimWorld } from './world.ts';

const [scenario = 'static', ...rest] = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? Number(rest[i + 1]) : fallback;
};
const n = arg('n', 1000);
const seed = arg('seed', 1);
const started = performance.now();
const world = new SimWorld({ seed });
await joinAtRate(world, n, arg('rate', Math.max(20, n / 100)));
await world.sim.runFor(arg('settle', 120) * 1000);
const keys = Array.from({ length: 200 }, () => world.randomKey());
let extra: Record<string, unknown> = {};
if (scenario === 'churn') {
  const stats = await churn(world, {
    meanSessionMs: arg('session', 10) * 60_000,
    distribution: rest.includes('--pareto') ? 'pareto' : 'exponential',
    durationMs: arg('minutes', 30) * 60_000,
    lookupsPerSecond: arg('lookups', 2),
  });
  extra = { successRate: stats.succeeded / stats.attempted, failures: stats.failures };
} else if (scenario === 'crash') {
  for (const id of [...world.liveJoined].slice(0, Math.floor(n * arg('share', 0.2)))) world.crash(id);
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
} else if (scenario !== 'static') {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
const stats = await lookups(world, 1000, 100);
const links = world.liveJoined.map((id) => world.nodes.get(id)!.overlay.links().length);
console.log(JSON.stringify({
  scenario, n, seed, live: world.liveJoined.length,
  lookupSuccess: stats.succeeded / stats.attempted, hopsMean: mean(stats.hops), hopsP99: percentile(stats.hops, 99),
  linksMean: mean(links), linksMax: Math.max(...links), inconsistent: inconsistentRoutes(world, keys),
  ...extra, traceHash: world.trace.digest(), simSeconds: world.sim.now() / 1000, wallSeconds: (performance.now() - started) / 1000,
}, null, 2));
process.exit(0);
