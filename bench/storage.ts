// `npm run bench -- storage [--json] [--quick] [--n 1000] [--keys 10000] [--minutes 15] [--seed 1] [--only static|10|2 [--keep]] [--r 3 | --rmax 4] [--audit]`:
// replicated storage over the real overlay in the simulator (whole SelfmeshNodes, MemoryStore). One row
// per scenario: static (no churn; single crashes one at a time to time repair) and churn with mean
// sessions of 10 and 2 minutes. Targets: lostAcked = 0 in every row, repairBytesOverIdeal <= 1.2.
// With --only and --keep, the other rows of bench/results/storage.json (same n and keys) are kept.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Progress } from '../sim/progress.ts';
import { compareStamp } from '../src/storage/records.ts';
import { percentile } from './stats.ts';
import {
  loadKeys, makeKeys, readAll, sessionChurn, steppedChurn, storageRoom, waitUntilConverged,
} from '../sim/storage-scenarios.ts';

export interface StorageRow {
  n: number;
  keys: number;
  /** Replicas per key when churn is low (w and readQuorum are the majority of it). */
  r: number;
  /** Replicas per key that the nodes' churn policy chose, at the end of the churn: median and max over nodes. */
  rPolicyMin: number;
  rPolicyP50: number;
  rPolicyMax: number;
  /** Bytes of offers and summaries (finding out what to move; not in repairBytes). */
  controlBytes: number;
  /** Mean session in minutes, or null (static). */
  churn: number | null;
  /** Keys whose latest acknowledged write no live node holds, or that read back wrong, at the end. */
  lostAcked: number;
  /** Keys whose last live replica died with a departure (all r holders gone before repair finished). */
  lostAllReplicasDied: number;
  /** For those keys: seconds between the first unrepaired holder death and the last one (max, median). */
  lostWindowSecondsMax: number;
  lostWindowSecondsP50: number;
  putMsP50: number;
  getMsP50: number;
  putMsP99: number;
  getMsP99: number;
  /** Per departure: time until every key it left below r live replicas had r again. */
  repairSecondsP50: number;
  repairSecondsP99: number;
  /** Record bytes sent by handoff, re-replication and anti-entropy during the scenario. */
  repairBytes: number;
  /**
   * repairBytes / (bytes of the replicas the departures left missing + bytes joiners had to take over
   * + bytes the new ranks lacked when the policy raised a key's r), all against the r the nodes' policy
   * asks for at the time (a key with a kept extra copy that loses a holder is not missing one).
   */
  repairBytesOverIdeal: number;
  lostReplicaBytes: number;
  joinPlacementBytes: number;
  /** The copies rises of r asked for (sim/policy-placement.ts); 0 in the static row, where r stays. */
  policyPlacementBytes: number;
  departures: number;
  putsAcked: number;
  putsFailed: number;
  getsFailed: number;
  getsWrong: number;
  /** Whether every key was back to r agreeing replicas on its true holders after the churn stopped. */
  converged: boolean;
  simMinutes: number;
  wallSeconds: number;
}

async function runOne(
  n: number, keyCount: number, session: number | null, minutes: number, seed: number, audit = false, r?: number, rMax?: number,
): Promise<StorageRow> {
  const started = performance.now();
  // --r fixes r (the churn policy off); without it r starts at 3 and the policy raises it under churn.
  // --rmax sets the policy's ceiling instead.
  const fixed = r === undefined ? undefined : { r, rMax: r, w: Math.floor(r / 2) + 1, readQuorum: Math.floor(r / 2) + 1 };
  const sw = await storageRoom({ n, seed, audit, storage: fixed ?? (rMax === undefined ? undefined : { rMax }) });
  const t0 = sw.sim.now();
  // On stderr, every 10 s of wall time: a row runs for minutes.
  const progress = new Progress(sw.world).start();
  const row = `storage n = ${n}, ${session === null ? 'crashes' : `${session}-minute sessions`}`;
  progress.phase(`${row}: loading ${keyCount} keys`);
  const keys = makeKeys(sw, keyCount);
  await loadKeys(sw, keys, Math.max(100, n / 2));
  await sw.sim.runFor(60_000);
  // Repair is measured from here on: the load's own handoffs (writes that went to spares) are not repair.
  const before = sw.meters();
  sw.lostReplicaBytes = 0;
  sw.joinPlacementBytes = 0;
  sw.policyPlacement.reset();
  sw.repairSeconds.length = 0;
  sw.moves?.start();
  const workload = { keys, writesPerSecond: Math.max(2, n / 100), readsPerSecond: Math.max(2, n / 100) };
  progress.phase(`${row}: ${session === null ? 'ten crashes' : `${minutes} minutes of churn`}`);
  if (session === null) {
    // No churn: ten single crashes (silent, and with links closing), each long after the previous one.
    // Reads go on but writes pause: a write that reaches a spare is handed over later, and those bytes
    // would count as repair of replicas that no crash lost (the churn rows keep writing).
    await steppedChurn(sw, {
      ...workload, writesPerSecond: 0, durationMs: 10 * 120_000 + 1, gapMs: 120_000, replace: false, hows: ['crash', 'close'],
    });
  } else {
    await sessionChurn(sw, { ...workload, meanSessionMs: session * 60_000, durationMs: minutes * 60_000 });
  }
  const policy = sw.world.liveJoined.map((id) => sw.node(id).storage.replicas).sort((a, b) => a - b);
  progress.phase(`${row}: convergence`);
  const converged = await waitUntilConverged(sw, 15 * 60_000, 10_000, true);
  progress.phase(`${row}: reading every key`);
  const reads = await readAll(sw, keys, Math.max(100, n / 2));
  progress.stop();
  const lost = new Set([...sw.lostKeys(), ...reads.wrong]);
  const repairBytes = sw.meters().repairBytes - before.repairBytes;
  const controlBytes = sw.meters().controlBytes - before.controlBytes;
  const ideal = sw.lostReplicaBytes + sw.joinPlacementBytes + sw.policyPlacement.bytes;
  sw.close();
  if (audit) {
    const endLost = sw.lostKeys();
    const notByDeparture = endLost.filter((k) => !sw.lostByDeparture.has(k));
    console.error(JSON.stringify({
      endLost: endLost.length, wrongReads: reads.wrong.length, failedReads: reads.failed.length,
      wrongButLive: reads.wrong.filter((k) => sw.liveReplicas(k) > 0).length,
      lostByDeparture: sw.lostByDeparture.size, endLostNotByDeparture: notByDeparture.length,
      // For those: how many nodes (alive or not) ever held the acknowledged write when the run ended.
      notByDepartureHolders: notByDeparture.slice(0, 20).map((k) => {
        const stamp = sw.ackedStamp(k);
        const all = [...(sw.oracle.holdings.get(k) ?? new Map())].filter(([, h]) => stamp && compareStamp(h.stamp, stamp) >= 0);
        return { dead: all.filter(([id]) => !sw.isAlive(id)).length, alive: all.filter(([id]) => sw.isAlive(id)).length };
      }),
    }));
  }
  if (audit) {
    // How each loss came about: the kinds of the unrepaired deaths, the replicas left after the first
    // one, and the time from the first one to the last.
    const shapes = new Map<string, number>();
    for (const c of sw.lostChains) {
      const shape = `${c.deaths.map((d) => d.how).join('>')} firstLeft=${c.deaths[0]!.left}`;
      shapes.set(shape, (shapes.get(shape) ?? 0) + 1);
    }
    console.error(JSON.stringify({ lostShapes: Object.fromEntries([...shapes].sort((a, b) => b[1] - a[1])) }));
    for (const c of sw.lostChains.filter((x) => x.deaths.length === 1).slice(0, 4)) {
      console.error(`single-death loss ${c.key.slice(0, 8)}: ${(sw.moves?.history.get(c.key) ?? []).slice(-25).join(' | ')}`);
    }
    console.error(JSON.stringify({ lostChains: sw.lostChains.slice(0, 15).map((c) => c.deaths.map((d) => `${d.how}@${(d.at / 1000).toFixed(1)}:${d.left}`).join(' ')) }));
  }
  if (audit) {
    // Failure detection over the whole run: suspicions, those refuted by a second opinion, deaths.
    const fd: Record<string, number> = {};
    for (const node of sw.selfmesh.values()) {
      for (const [name, value] of Object.entries(node.counters.snapshot())) if (name.startsWith('overlay.fd.')) fd[name] = (fd[name] ?? 0) + value;
    }
    console.error(JSON.stringify({ fd }));
  }
  if (audit) console.error(JSON.stringify({ audit: sw.moves?.report(), meters: sw.meters(), departures: sw.departures.map((d) => ({ how: d.how, lost: d.lostKeys, min: d.minReplicasLeft, pending: d.pendingBefore })) }));
  return {
    n, keys: keyCount, r: sw.r, rPolicyMin: policy[0] ?? sw.r, rPolicyP50: percentile(policy, 50), rPolicyMax: policy[policy.length - 1] ?? sw.r, controlBytes, churn: session,
    lostAcked: lost.size,
    lostAllReplicasDied: sw.departures.reduce((a, d) => a + d.lostKeys, 0),
    lostWindowSecondsMax: Math.max(0, ...sw.departures.flatMap((d) => d.lostWindows)),
    lostWindowSecondsP50: percentile(sw.departures.flatMap((d) => d.lostWindows), 50),
    putMsP50: percentile(sw.ops.putMs, 50), getMsP50: percentile(sw.ops.getMs, 50),
    putMsP99: percentile(sw.ops.putMs, 99), getMsP99: percentile(sw.ops.getMs, 99),
    repairSecondsP50: percentile(sw.repairSeconds, 50), repairSecondsP99: percentile(sw.repairSeconds, 99),
    repairBytes, repairBytesOverIdeal: ideal > 0 ? Math.round((repairBytes / ideal) * 1000) / 1000 : NaN,
    lostReplicaBytes: sw.lostReplicaBytes, joinPlacementBytes: sw.joinPlacementBytes, policyPlacementBytes: sw.policyPlacement.bytes,
    departures: sw.departures.length,
    putsAcked: sw.ops.putsAcked, putsFailed: sw.ops.putsFailed, getsFailed: sw.ops.getsFailed, getsWrong: sw.ops.getsWrong,
    converged,
    simMinutes: Math.round((sw.sim.now() - t0) / 600) / 100,
    wallSeconds: Math.round(performance.now() - started) / 1000,
  };
}

export async function run(args: string[]): Promise<StorageRow[]> {
  const opt = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const quick = args.includes('--quick');
  const n = opt('n', quick ? 200 : 1_000);
  const keys = opt('keys', quick ? 2_000 : 10_000);
  const minutes = opt('minutes', quick ? 10 : 15);
  const seed = opt('seed', 1);
  const r = args.includes('--r') ? opt('r', 3) : undefined;
  const rMax = args.includes('--rmax') ? opt('rmax', 4) : undefined;
  const rows: StorageRow[] = [];
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const plan = [null, 10, 2].filter((s) => only === undefined || String(s ?? 'static') === only);
  // A typo must not run nothing and then write an empty results file over the measured rows.
  if (plan.length === 0) throw new RangeError(`--only ${only}: no such row; one of static, 10, 2`);
  for (const session of plan) {
    const row = await runOne(n, keys, session, minutes, seed, args.includes('--audit'), r, rMax);
    console.error(JSON.stringify(row));
    rows.push(row);
  }
  // One row re-measured (--only): the file keeps the other rows of the same size.
  if (only === undefined || !args.includes('--keep')) return rows;
  const file = join(dirname(fileURLToPath(import.meta.url)), 'results', 'storage.json');
  const kept = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StorageRow[]) : [];
  const order = (x: StorageRow) => (x.churn === null ? 0 : 1 / x.churn);
  return [...kept.filter((k) => k.n === n && k.keys === keys && !rows.some((x) => x.churn === k.churn)), ...rows].sort((a, b) => order(a) - order(b));
}
