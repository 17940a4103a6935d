// Storage scenarios as code, over whole SelfmeshNodes: build a room, load keys, churn one departure at
// a time (so that no key loses more than r - 1 holders before repair) or with session times, keep a
// read/write workload running throughout, and check every key at the end.
import type { Id } from '../src/core/id.ts';
import { exponential } from '../src/core/rng.ts';
import { DEFAULT_OVERLAY_CONFIG } from '../src/overlay/config.ts';
import { joinAtRate } from './scenarios.ts';
import { StorageWorld, type DepartureRecord, type StorageWorldOptions } from './storage-world.ts';

/** How long the overlay takes at most to declare a silent node dead (see FailureDetector). */
export const DETECTION_MS =
  DEFAULT_OVERLAY_CONFIG.suspectSilenceMs + DEFAULT_OVERLAY_CONFIG.detectorTickMs + 2 * DEFAULT_OVERLAY_CONFIG.pingTimeoutMs;

export interface RoomOptions extends StorageWorldOptions {
  n: number;
  joinsPerSecond?: number;
  settleMs?: number;
}

/** A room of n SelfmeshNodes, joined and settled. */
export async function storageRoom(options: RoomOptions): Promise<StorageWorld> {
  const sw = new StorageWorld(options);
  await joinAtRate(sw.world, options.n, options.joinsPerSecond ?? Math.max(20, options.n / 50));
  await sw.sim.runFor(options.settleMs ?? 60_000);
  return sw;
}

export function makeKeys(sw: StorageWorld, count: number): Id[] {
  return Array.from({ length: count }, () => sw.world.randomKey());
}

/**
 * Writes every key once, `perSecond` writes at a time; keys whose write failed are written again (a
 * bounded number of rounds). Returns how many keys have an acknowledged value.
 */
export async function loadKeys(sw: StorageWorld, keys: readonly Id[], perSecond = 200, rounds = 3): Promise<number> {
  let todo = [...keys];
  for (let round = 0; round < rounds && todo.length > 0; round++) {
    const batch = todo;
    await sw.drive(batch.length, perSecond, (i) => sw.put(batch[i]!));
    todo = batch.filter((k) => !sw.keys.get(k)?.acked);
  }
  return keys.length - todo.length;
}

export interface WorkloadOptions {
  keys: readonly Id[];
  writesPerSecond: number;
  readsPerSecond: number;
}

/** Puts and gets on random idle keys from random live nodes until `until` (virtual ms); returns a waiter. */
export function startWorkload(sw: StorageWorld, until: number, options: WorkloadOptions): () => Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const loop = (perSecond: number, op: (key: Id) => Promise<unknown>) => {
    if (perSecond <= 0) return;
    const gap = 1000 / perSecond;
    const tick = () => {
      if (sw.sim.now() >= until) return;
      const key = sw.idleKey(options.keys);
      if (key && sw.world.liveJoined.length > 0) track(op(key));
      sw.sim.setTimeout(tick, gap);
    };
    sw.sim.setTimeout(tick, gap);
  };
  loop(options.writesPerSecond, (key) => sw.put(key));
  loop(options.readsPerSecond, (key) => sw.get(key));
  return async () => {
    const ok = await sw.sim.runUntil(() => inFlight.size === 0, 120_000, 100);
    if (!ok) throw new Error(`${inFlight.size} operations did not settle`);
  };
}

export interface SteppedChurnOptions extends WorkloadOptions {
  durationMs: number;
  /** Time between departures; longer than the repair time keeps to "at most r - 1 holders lost". */
  gapMs: number;
  /** Whether a fresh node joins after each departure (default true). */
  replace?: boolean;
  /** The kinds of departure, taken in turn (default: silent crash, crash with links closing, leave). */
  hows?: Array<DepartureRecord['how']>;
}

/**
 * Churn one departure at a time: every gap a random node departs (silent crash, crash with its links
 * closing, or leave, in turn) and a fresh node joins in its place, while the workload runs.
 */
export async function steppedChurn(sw: StorageWorld, options: SteppedChurnOptions): Promise<DepartureRecord[]> {
  const { sim } = sw;
  const end = sim.now() + options.durationMs;
  const done = startWorkload(sw, end, options);
  const hows = options.hows ?? ['crash', 'close', 'leave'];
  const records: DepartureRecord[] = [];
  for (let step = 0; sim.now() + options.gapMs <= end; step++) {
    await sim.runFor(options.gapMs);
    const victim = sw.world.randomJoined();
    if (!victim) break;
    const departed = sw.depart(victim.id, hows[step % hows.length]!);
    const joined = options.replace === false ? Promise.resolve() : sw.startJoin(sw.world.addNode());
    records.push(await sim.settle(departed, 60_000));
    await sim.settle(joined, 120_000);
  }
  await sim.runUntilTime(end);
  await done();
  return records;
}

export interface SessionChurnOptions extends WorkloadOptions {
  meanSessionMs: number;
  durationMs: number;
  /** Share of departures that use the leave protocol; the rest crash (half silently). */
  gracefulShare?: number;
  silentShare?: number;
}

/** Churn at constant population with exponential sessions (as sim/scenarios.ts churn), workload running. */
export async function sessionChurn(sw: StorageWorld, options: SessionChurnOptions): Promise<void> {
  const { sim, world } = sw;
  const end = sim.now() + options.durationMs;
  const done = startWorkload(sw, end, options);
  const schedule = (id: Id) => {
    sim.setTimeout(() => {
      if (sim.now() >= end || !world.nodes.get(id)?.alive) return;
      const r = world.rng.next();
      const how = r < (options.gracefulShare ?? 0.3) ? 'leave' : world.rng.next() < (options.silentShare ?? 0.5) ? 'crash' : 'close';
      void sw.depart(id, how);
      const fresh = world.addNode();
      void sw.startJoin(fresh).then(() => schedule(fresh.id));
    }, exponential(world.rng, options.meanSessionMs));
  };
  for (const id of [...world.liveJoined]) schedule(id);
  await sim.runUntilTime(end);
  await done();
}

/**
 * Waits (bounded) until every key has r live replicas and its r true holders agree. Keys whose every
 * replica died are left out with `ignoreLost` (nothing can bring them back; they are counted as lost).
 */
export async function waitUntilConverged(sw: StorageWorld, maxMs: number, stepMs = 5_000, ignoreLost = false): Promise<boolean> {
  return sw.sim.runUntil(
    () => sw.pendingRepairs === 0 && sw.underReplicated(!ignoreLost).length === 0 && sw.disagreeing(!ignoreLost).length === 0,
    maxMs, stepMs,
  );
}

/** Reads every key once (from random live nodes) and returns how many reads were right, wrong, failed. */
export async function readAll(sw: StorageWorld, keys: readonly Id[], perSecond = 200): Promise<{ ok: number; wrong: Id[]; failed: Id[] }> {
  const wrong: Id[] = [];
  const failed: Id[] = [];
  let ok = 0;
  await sw.drive(keys.length, perSecond, (i) =>
    sw.get(keys[i]!).then((r) => {
      if (r === 'ok') ok++;
      else (r === 'wrong' ? wrong : failed).push(keys[i]!);
    }),
  );
  return { ok, wrong, failed };
}
