// A static run on several threads: the room is split into ranges of the node ids' first byte (Kademlia
// keeps most traffic inside a subtree, so few frames cross), each thread runs its part over the same code as
// SimWorld, and the threads run in lockstep windows of the least link latency. The same seed and number
// of threads give the same run; one thread's run and two threads' differ (their random streams do).
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { compareDistance, type Id } from '../src/core/id.ts';
import { seededRng } from '../src/core/rng.ts';
import { GONE, mean, percentile, walkRoutes } from './scenarios.ts';
import { WINDOW_MS } from './shard-bridge.ts';
import { makeRoster } from './shard-world.ts';
import type { ShardHops, ShardJob, ShardProgress, ShardReport } from './shard-worker.ts';
import { TraceHash } from './simulator.ts';

export interface ShardedOptions {
  n: number;
  seed: number;
  rate: number;
  settleSeconds: number;
  /** Simulated seconds after the settling in which nothing is asked, to measure the idle cost (default 0). */
  idleSeconds?: number;
  workers: number;
  lookups?: number;
  lookupsPerSecond?: number;
  /** Keys of the final routing check. */
  checkKeys?: number;
  /** A progress line (default: none). */
  onProgress?: (line: string) => void;
}

export interface ShardedResult {
  scenario: 'static';
  n: number;
  seed: number;
  workers: number;
  live: number;
  lookupSuccess: number;
  hopsMean: number;
  hopsP99: number;
  linksMean: number;
  linksMax: number;
  inconsistent: number;
  joinFailures: number;
  /** Messages that crossed between threads (frames, closes, handshakes, relays, joins). */
  crossMessages: number;
  /** Frames that crossed for a link the far end had closed meanwhile (dropped, as a closed channel drops them). */
  framesForClosedLinks: number;
  frames: number;
  bytes: number;
  /** Bytes sent per live node per second in the idle window (null without one). */
  maintenanceBytesPerNodePerSec: number | null;
  hops: number[];
  failures: Record<string, number>;
  /** Wall seconds of each phase (join, settle, idle, lookups), as the first thread saw them. */
  phaseSeconds: Record<string, number>;
  /** Callbacks that threw, summed over threads (a correct node never throws into the event loop). */
  errors: string[];
  /** Each thread's wall time waiting for the others at barriers. */
  waitSeconds: number[];
  windows: number;
  traceHash: string;
  simSeconds: number;
  wallSeconds: number;
}

export async function runSharded(options: ShardedOptions): Promise<ShardedResult> {
  const started = performance.now();
  const { n, seed, workers } = options;
  const ports: Array<Array<MessagePort | null>> = Array.from({ length: workers }, () => new Array<MessagePort | null>(workers).fill(null));
  for (let a = 0; a < workers; a++) {
    for (let b = a + 1; b < workers; b++) {
      const channel = new MessageChannel();
      ports[a]![b] = channel.port1;
      ports[b]![a] = channel.port2;
    }
  }
  const progress = new Map<number, ShardProgress>();
  const reports: ShardReport[] = [];
  const hops: ShardHops[] = [];
  let wantHops: (() => void) | null = null;
  let failure: Error | null = null;
  const threads: Worker[] = [];
  const posted = new SharedArrayBuffer(4 * workers);
  const allReported = new Promise<void>((resolveReports, rejectReports) => {
    // A thread that fails fails the run, whichever step the others are waiting on.
    const fail = (e: Error) => {
      failure ??= e;
      rejectReports(failure);
      wantHops?.();
    };
    for (let shard = 0; shard < workers; shard++) {
      const job: ShardJob = {
        shard, shards: workers, n, seed, rate: options.rate, settleSeconds: options.settleSeconds, idleSeconds: options.idleSeconds ?? 0,
        lookups: options.lookups ?? 1000, lookupsPerSecond: options.lookupsPerSecond ?? 100, windowMs: WINDOW_MS, ports: ports[shard]!, posted,
      };
      const worker = new Worker(new URL('./shard-boot.mjs', import.meta.url), {
        workerData: { shardJob: job },
        transferList: ports[shard]!.filter((p): p is MessagePort => p !== null),
      });
      threads.push(worker);
      worker.on('message', (m: ShardProgress | ShardReport | ShardHops | { type: 'error'; message: string }) => {
        if (m.type === 'progress') progress.set(m.shard, m);
        else if (m.type === 'report') {
          reports.push(m);
          if (reports.length === workers) resolveReports();
        } else if (m.type === 'hops') {
          hops.push(m);
          if (hops.length === workers) wantHops?.();
        } else fail(new Error(`thread ${shard}: ${m.message}`));
      });
      worker.on('error', (e) => fail(e));
      worker.on('exit', (code) => {
        if (hops.length < workers) fail(new Error(`thread ${shard} stopped (exit code ${code}) before the run ended`));
      });
    }
  });
  const ticker = options.onProgress
    ? setInterval(() => {
        const parts = [...progress.values()];
        if (parts.length === 0) return;
        const joined = parts.reduce((a, p) => a + p.joined, 0);
        const frames = parts.reduce((a, p) => a + p.frames, 0);
        const sim = Math.min(...parts.map((p) => p.simSeconds));
        options.onProgress!(
          `sim: ${parts[0]!.phase} on ${workers} threads, ${sim.toFixed(1)} s simulated, ${joined} nodes live and joined, ` +
            `${(frames / 1e6).toFixed(2)}M frames, ${Math.round((performance.now() - started) / 1000)} s wall`,
        );
      }, 10_000)
    : null;
  try {
    await allReported;
    // The routing check: every thread's next hops for the same keys, walked here over the whole room.
    const keyRng = seededRng(seed ^ 0xc4ec);
    const keys = Array.from({ length: options.checkKeys ?? 200 }, () =>
      Array.from(keyRng.bytes(32), (b) => b.toString(16).padStart(2, '0')).join(''));
    const hopsDone = new Promise<void>((resolve) => (wantHops = resolve));
    for (const worker of threads) worker.postMessage({ keys });
    await hopsDone;
    if (failure) throw failure;
    const ids = makeRoster(seed, n).identities.map((identity) => identity.id);
    const nextOf = new Int32Array(n * keys.length).fill(GONE);
    for (const part of hops) for (let i = 0; i < nextOf.length; i++) if (part.nextOf[i] !== GONE) nextOf[i] = part.nextOf[i]!;
    const index = new Map<Id, number>();
    ids.forEach((id, i) => index.set(id, i));
    const joined = reports.flatMap((r) => r.joined).map((id) => index.get(id)!);
    const truth = Int32Array.from(keys, (key) => {
      let best = -1;
      for (const j of joined) if (best < 0 || compareDistance(key, ids[j]!, ids[best]!) < 0) best = j;
      return best;
    });
    const inconsistent = walkRoutes(nextOf, keys.length, joined, truth);
    const ordered = [...reports].sort((a, b) => a.shard - b.shard);
    const trace = new TraceHash();
    for (const r of ordered) trace.add(r.traceHash);
    const attempted = ordered.reduce((a, r) => a + r.attempted, 0);
    const links = ordered.flatMap((r) => r.links);
    const allHops = ordered.flatMap((r) => r.hops);
    return {
      scenario: 'static', n, seed, workers, live: joined.length,
      lookupSuccess: ordered.reduce((a, r) => a + r.succeeded, 0) / attempted,
      hopsMean: mean(allHops), hopsP99: percentile(allHops, 99),
      linksMean: mean(links), linksMax: links.reduce((a, b) => Math.max(a, b), 0),
      inconsistent,
      joinFailures: ordered.reduce((a, r) => a + r.joinFailures, 0),
      crossMessages: ordered.reduce((a, r) => a + r.crossMessages, 0),
      framesForClosedLinks: ordered.reduce((a, r) => a + r.framesForNoLink, 0),
      frames: ordered.reduce((a, r) => a + r.frames, 0),
      bytes: ordered.reduce((a, r) => a + r.bytes, 0),
      maintenanceBytesPerNodePerSec: options.idleSeconds
        ? ordered.reduce((a, r) => a + r.idleBytes, 0) / joined.length / options.idleSeconds
        : null,
      hops: allHops,
      failures: mergeCounts(ordered.map((r) => r.failures)),
      phaseSeconds: ordered[0]!.phaseSeconds,
      errors: ordered.flatMap((r) => r.errors),
      waitSeconds: ordered.map((r) => Math.round(r.waitSeconds * 10) / 10),
      windows: ordered[0]!.windows,
      traceHash: trace.digest(),
      simSeconds: ordered[0]!.simSeconds,
      wallSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    if (ticker) clearInterval(ticker);
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

function mergeCounts(parts: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of parts) for (const [k, v] of Object.entries(part)) out[k] = (out[k] ?? 0) + v;
  return out;
}
