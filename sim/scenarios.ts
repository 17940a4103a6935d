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
 * the keys; key by key, every step touched another node's table: 4.5 s a check at 2,000 nodes). A next
 * hop outside `fromIds` (a joining node, or one not asked about) gets its own row too.
 */
export function inconsistentRoutes(world: SimWorld, keys: Id[], fromIds: readonly Id[] = world.liveJoined): number {
  const ids: Id[] = [...fromIds];
  const index = new Map<Id, number>();
  ids.forEach((id, i) => index.set(id, i));
  const rows: Int32Array[] = [];
  for (let i = 0; i < ids.length; i++) {
    const node = world.nodes.get(ids[i]!);
    const row = new Int32Array(keys.length);
    for (let k = 0; k < keys.length; k++) {
      if (!node || !node.alive) {
        row[k] = GONE;
        continue;
      }
      const next = node.overlay.nextHop(keys[k]!);
      if (next === undefined) {
        row[k] = ANSWERS;
        continue;
      }
      let j = index.get(next);
      if (j === undefined) {
        j = ids.length;
        ids.push(next);
        index.set(next, j);
      }
      row[k] = j;
    }
    rows.push(row);
  }
  const nextOf = new Int32Array(ids.length * keys.length);
  rows.forEach((row, i) => nextOf.set(row, i * keys.length));
  const truth = Int32Array.from(keys, (key) => {
    const closest = world.trueClosest(key);
    return closest === undefined ? NOWHERE : (index.get(closest) ?? NOWHERE);
  });
  return walkRoutes(nextOf, keys.length, fromIds.map((_, i) => i), truth);
}

/** In a row of next hops: the node answers the key itself, or is gone. */
export const ANSWERS = -1;
export const GONE = -3;
/** Where a walk that reaches no answering node ends (never a node's index). */
const NOWHERE = -2;

/**
 * The greedy walks over next hops given as node indices (`nextOf[i * keyCount + k]`: node i's next hop
 * for key k, or ANSWERS, or GONE): from each node of `from`, the walk for each key must end at
 * `truth[k]`. Returns the walks that do not. A walk reuses the ends of the walks it joins.
 */
export function walkRoutes(nextOf: Int32Array, keyCount: number, from: readonly number[], truth: Int32Array): number {
  let bad = 0;
  const end = new Int32Array(nextOf.length / keyCount);
  const path: number[] = [];
  for (let k = 0; k < keyCount; k++) {
    // end[i]: where the walk from i ends, NOWHERE, or UNKNOWN while not walked yet.
    end.fill(UNKNOWN);
    for (const start of from) {
      path.length = 0;
      let at = start;
      let result = NOWHERE;
      for (let hop = 0; hop < 64; hop++) {
        if (end[at] !== UNKNOWN) {
          result = end[at]!;
          break;
        }
        const next = nextOf[at * keyCount + k]!;
        if (next === GONE) break;
        path.push(at);
        if (next === ANSWERS) {
          result = at;
          break;
        }
        at = next;
      }
      for (const p of path) end[p] = result;
      if (result !== truth[k]) bad++;
    }
  }
  return bad;
}

const UNKNOWN = -4;

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
