// Scenarios as code: nodes joining at a rate, churn with exponential or heavy-tailed sessions, a mass
// crash, a partition and its healing; plus the measurements the tests and the benchmark take.
import type { Id } from '../src/core/id.ts';
import { exponential, pareto } from '../src/core/rng.ts';
import { LOOKUP_METHOD, type SimWorld } from './world.ts';

/** Adds n nodes, `perSecond` of them per simulated second, and waits until every one has joined. */
export async function joinAtRate(world: SimWorld, n: number, perSecond: number, maxMs = 3_600_000): Promise<void> {
  const { sim } = world;
  const joins: Promise<void>[] = [];
  let added = 0;
  const gap = 1000 / perSecond;
  await new Promise<void>((resolve) => {
    const addOne = () => {
      if (added >= n) return resolve();
      added++;
      joins.push(world.startJoin(world.addNode()));
      sim.setTimeout(addOne, gap);
    };
    // The first node is alone: it must be joined before the others ask the server for members.
    joins.push(world.startJoin(world.addNode()));
    added = 1;
    sim.setTimeout(addOne, gap);
    void sim.runUntil(() => added >= n, maxMs).then(() => resolve());
  });
  let settled = 0;
  for (const j of joins) void j.finally(() => settled++);
  const ok = await sim.runUntil(() => settled >= joins.length, maxMs);
  if (!ok) throw new Error(`only ${settled} of ${joins.length} joins finished`);
}

export interface LookupStats {
  attempted: number;
  succeeded: number;
  /** Lookups whose origin departed before the answer came back: nobody is left to count them. */
  originGone: number;
  hops: number[];
  failures: Record<string, number>;
}

export function emptyStats(): LookupStats {
  return { attempted: 0, succeeded: 0, originGone: 0, hops: [], failures: {} };
}

/** Share of the lookups whose origin stayed that ended at the right node. */
export function successRate(stats: LookupStats): number {
  return stats.succeeded / stats.attempted;
}

/**
 * One lookup of key from node: a success if the node that answers is, when it answers, the live node
 * truly closest to key. A lookup whose origin departs meanwhile is not counted either way.
 */
export function lookup(world: SimWorld, from: Id, key: Id, stats: LookupStats): Promise<void> {
  const node = world.nodes.get(from)!;
  const settle = (outcome: string | null, hops = 0) => {
    if (!node.alive) {
      stats.originGone++;
      return;
    }
    stats.attempted++;
    if (outcome === null) {
      stats.succeeded++;
      stats.hops.push(hops);
    } else {
      stats.failures[outcome] = (stats.failures[outcome] ?? 0) + 1;
    }
  };
  return node.overlay.route(key, { method: LOOKUP_METHOD, body: null }).then(
    (result) => settle(result.reply === true ? null : 'wrong', result.hops),
    (e: { code?: string }) => settle(e.code ?? 'error'),
  );
}

/** `count` lookups from random live nodes to random keys, `perSecond` of them, awaited in virtual time. */
export async function lookups(world: SimWorld, count: number, perSecond: number, stats = emptyStats()): Promise<LookupStats> {
  const pending: Promise<void>[] = [];
  const gap = 1000 / perSecond;
  for (let i = 0; i < count; i++) {
    world.sim.setTimeout(() => {
      const from = world.randomJoined();
      if (from) pending.push(lookup(world, from.id, world.randomKey(), stats));
    }, i * gap);
  }
  await world.sim.runFor(count * gap);
  let done = 0;
  for (const p of pending) void p.finally(() => done++);
  await world.sim.runUntil(() => done >= pending.length, 60_000, 100);
  return stats;
}

/**
 * Routing consistency, read off the live tables: from every live node, the greedy walk over next hops
 * for each key must end at the true closest node, through live nodes only. Returns the failed walks.
 *
 * Each node's next hops for all the keys are read one node at a time (its table stays in cache across
 * the keys; key by key, every step touched another node's table: 4.5 s a check at 2,000 nodes), and
 * each walk reuses the ends of the walks it joins.
 */
export function inconsistentRoutes(world: SimWorld, keys: Id[], fromIds: readonly Id[] = world.liveJoined): number {
  const index = new Map<Id, number>();
  fromIds.forEach((id, i) => index.set(id, i));
  // nextOf[i * keys.length + k]: the index of node i's next hop for key k; -1 none (node i answers),
  // -2 a node outside fromIds (looked up as the walk reaches it), -3 node i is gone.
  const nextOf = new Int32Array(fromIds.length * keys.length);
  const outside = new Map<number, Id>();
  for (let i = 0; i < fromIds.length; i++) {
    const node = world.nodes.get(fromIds[i]!);
    for (let k = 0; k < keys.length; k++) {
      if (!node || !node.alive) {
        nextOf[i * keys.length + k] = -3;
        continue;
      }
      const next = node.overlay.nextHop(keys[k]!);
      const j = next === undefined ? -1 : (index.get(next) ?? -2);
      nextOf[i * keys.length + k] = j;
      if (j === -2) outside.set(i * keys.length + k, next!);
    }
  }
  let bad = 0;
  const end = new Map<Id, Id | null>();
  const path: Id[] = [];
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const truth = world.trueClosest(key);
    end.clear();
    for (const from of fromIds) {
      path.length = 0;
      let at: Id = from;
      let result: Id | null = null;
      for (let hops = 0; hops < 64; hops++) {
        const known = end.get(at);
        if (known !== undefined) {
          result = known;
          break;
        }
        const i = index.get(at);
        let next: Id | undefined;
        if (i !== undefined) {
          const j = nextOf[i * keys.length + k]!;
          if (j === -3) break;
          next = j === -1 ? undefined : j === -2 ? outside.get(i * keys.length + k) : fromIds[j];
        } else {
          const node = world.nodes.get(at);
          if (!node || !node.alive) break;
          next = node.overlay.nextHop(key);
        }
        path.push(at);
        if (next === undefined) {
          result = at;
          break;
        }
        at = next;
      }
      for (const p of path) end.set(p, result);
      if (result !== truth) bad++;
    }
  }
  return bad;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function mean(values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export interface ChurnOptions {
  meanSessionMs: number;
  distribution: 'exponential' | 'pareto';
  durationMs: number;
  lookupsPerSecond: number;
  /** Share of departures that are silent crashes; the rest close their links (a closed tab). */
  silentShare?: number;
  /** Share of departures that use the leave protocol (before the silent/abrupt split). */
  gracefulShare?: number;
}

/**
 * Churn at constant population: every live node gets a session time; when it ends the node departs
 * and a new node joins in its place. Lookups run throughout; returns their statistics.
 */
export async function churn(world: SimWorld, options: ChurnOptions): Promise<LookupStats> {
  const { sim, rng } = world;
  const stats = emptyStats();
  const end = sim.now() + options.durationMs;
  const session = () => (options.distribution === 'pareto' ? pareto(rng, options.meanSessionMs) : exponential(rng, options.meanSessionMs));
  const schedule = (id: Id) => {
    sim.setTimeout(() => {
      if (sim.now() >= end || !world.nodes.get(id)?.alive) return;
      const r = rng.next();
      if (r < (options.gracefulShare ?? 0.3)) void world.leave(id);
      else world.crash(id, rng.next() < (options.silentShare ?? 0.5));
      const fresh = world.addNode();
      void world.startJoin(fresh).then(() => schedule(fresh.id));
    }, session());
  };
  for (const id of [...world.liveJoined]) schedule(id);
  const total = Math.floor((options.durationMs / 1000) * options.lookupsPerSecond);
  await lookups(world, total, options.lookupsPerSecond, stats);
  return stats;
}
