// One thread of a sharded simulation (started by sim/sharded.ts through shard-boot.mjs). It runs its
// shard's nodes in lockstep windows with the other threads: run every event of the window, swap the
// messages that cross, go on. At each barrier every thread knows the same global figures (joins
// settled, lookups pending), so all of them move to the next phase at the same simulated time.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Id } from '../src/core/id.ts';
import { seededRng } from '../src/core/rng.ts';
import { ANSWERS, emptyStats, GONE, lookup } from './scenarios.ts';
import type { CrossMessage } from './shard-bridge.ts';
import { makeRoster, ShardWorld } from './shard-world.ts';

export interface ShardJob {
  shard: number;
  shards: number;
  n: number;
  seed: number;
  /** Joins per simulated second. */
  rate: number;
  /** Simulated seconds after the last join. */
  settleSeconds: number;
  /** Then simulated seconds in which nothing is asked, to measure the idle cost (0: none). */
  idleSeconds: number;
  lookups: number;
  lookupsPerSecond: number;
  /** No message between threads is due sooner than this after it is sent: the least link latency. */
  windowMs: number;
  /** A port to each other thread, by shard (null for this one). */
  ports: Array<MessagePort | null>;
  /** Shared by all threads: slot s holds the last window whose messages thread s has posted. */
  posted: SharedArrayBuffer;
}

/** What each thread says at a barrier, about the window it just ran. */
interface Header {
  settled: number;
  failed: number;
  pending: number;
}

export interface ShardProgress {
  type: 'progress';
  shard: number;
  phase: string;
  simSeconds: number;
  joined: number;
  frames: number;
}

export interface ShardReport {
  type: 'report';
  shard: number;
  attempted: number;
  succeeded: number;
  hops: number[];
  failures: Record<string, number>;
  joinFailures: number;
  /** Links of each live joined node of this shard. */
  links: number[];
  joined: Id[];
  traceHash: string;
  frames: number;
  bytes: number;
  crossMessages: number;
  framesForNoLink: number;
  simSeconds: number;
  errors: string[];
  /** Bytes this shard's nodes sent during the idle window. */
  idleBytes: number;
  /** Wall seconds of each phase. */
  phaseSeconds: Record<string, number>;
  /** Wall time spent waiting at barriers for the other threads, and the windows run. */
  waitSeconds: number;
  windows: number;
}

/** A thread's next hop towards each key, for each roster node it runs: roster index, ANSWERS, or GONE (not ours). */
export interface ShardHops {
  type: 'hops';
  shard: number;
  nextOf: Int32Array;
}

export async function runShard(job: ShardJob, parent: MessagePort): Promise<void> {
  const { shard, shards, n } = job;
  const world = new ShardWorld({ seed: job.seed, traceFrames: true }, shard, shards);
  const { sim, bridge } = world;
  const roster = makeRoster(job.seed, n);
  const ids = roster.identities.map((identity) => identity.id);
  const posted = new Int32Array(job.posted);
  const simStarted = sim.now();
  let phase = 'join';
  const phaseSeconds: Record<string, number> = {};
  let phaseAt = performance.now();
  const nextPhase = (name: string) => {
    phaseSeconds[phase] = Math.round(performance.now() - phaseAt) / 1000;
    phase = name;
    phaseAt = performance.now();
  };
  let settled = 0;
  let failed = 0;
  let pending = 0;
  const report = setInterval(() => {
    const progress: ShardProgress = {
      type: 'progress', shard, phase, simSeconds: (sim.now() - simStarted) / 1000, joined: world.liveJoined.length, frames: world.network.totalFrames,
    };
    parent.postMessage(progress);
  }, 2_000);

  let windowEnd = sim.now() + job.windowMs;
  let waitMs = 0;
  let windows = 0;
  /** Runs one window, swaps messages with every other thread, and returns the summed figures. */
  const step = async (): Promise<Header> => {
    bridge.windowEnd = windowEnd;
    await sim.runUntilTime(windowEnd - 1);
    const mine: Header = { settled, failed, pending };
    for (let s = 0; s < shards; s++) job.ports[s]?.postMessage({ header: mine, batch: bridge.take(s) });
    windows++;
    // The barrier blocks the thread (no turn of its event loop): a window at a few thousand nodes is a
    // millisecond or two of work, and waking through the event loop cost a tenth of that.
    Atomics.store(posted, shard, windows);
    Atomics.notify(posted, shard);
    const waitFrom = performance.now();
    const theirs = job.ports.map((port, s) => {
      if (!port) return undefined;
      for (;;) {
        const seen = Atomics.load(posted, s);
        if (seen >= windows) break;
        // Bounded, so that a thread told to stop is not left blocked.
        Atomics.wait(posted, s, seen, 100);
      }
      // Posted before the store that was seen, so it is queued on our port by now (checked all the same).
      for (;;) {
        const got = receiveMessageOnPort(port);
        if (got) return got.message as { header: Header; batch: CrossMessage[] };
        Atomics.wait(posted, shard, Atomics.load(posted, shard), 1);
      }
    });
    waitMs += performance.now() - waitFrom;
    windowEnd += job.windowMs;
    bridge.windowEnd = windowEnd;
    const total = { ...mine };
    for (let s = 0; s < shards; s++) {
      const got = theirs[s];
      if (!got) continue;
      bridge.receive(s, got.batch);
      total.settled += got.header.settled;
      total.failed += got.header.failed;
      total.pending += got.header.pending;
    }
    return total;
  };

  // The join: node i comes in at i / rate seconds, in whichever thread holds it.
  const gap = 1000 / job.rate;
  for (let i = 0; i < n; i++) {
    if (!world.owns(ids[i]!)) continue;
    sim.setTimeout(() => {
      const node = world.addNode(roster.identities[i], roster.seeds[i]);
      void world.startJoin(node).then(() => {
        settled++;
        if (!node.joined) failed++;
      });
    }, i * gap);
  }
  const joinDeadline = sim.now() + 3_600_000;
  for (let total = await step(); total.settled < n; total = await step()) {
    if (sim.now() > joinDeadline) throw new Error(`only ${total.settled} of ${n} joins finished`);
  }

  nextPhase('settle');
  const settleEnd = sim.now() + job.settleSeconds * 1000;
  while (sim.now() < settleEnd) await step();

  nextPhase('idle');
  const idleFrom = world.network.totalBytes;
  const idleEnd = sim.now() + job.idleSeconds * 1000;
  while (sim.now() < idleEnd) await step();
  const idleBytes = world.network.totalBytes - idleFrom;

  // Lookups: every thread draws the same origins and keys; the thread holding the origin sends it.
  nextPhase('lookups');
  const script = seededRng(job.seed ^ 0x10c4);
  const stats = emptyStats();
  const lookupGap = 1000 / job.lookupsPerSecond;
  const lookupsStart = sim.now();
  for (let j = 0; j < job.lookups; j++) {
    let origin: Id | undefined;
    for (let tries = 0; origin === undefined && tries < 64; tries++) {
      const candidate = ids[script.int(n)]!;
      if (world.joinedEverywhere.has(candidate)) origin = candidate;
    }
    const key = Array.from(script.bytes(32), (b) => b.toString(16).padStart(2, '0')).join('');
    if (origin === undefined || !world.owns(origin)) continue;
    const from = origin;
    // From the next millisecond: the clock stands at the last one of the window just run.
    sim.setTimeout(() => {
      pending++;
      void lookup(world, from, key, stats).finally(() => pending--);
    }, 1 + j * lookupGap);
  }
  const lookupsEnd = lookupsStart + 1 + job.lookups * lookupGap;
  for (let total = await step(); sim.now() < lookupsEnd || total.pending > 0; total = await step()) {
    if (sim.now() > lookupsEnd + 60_000) break;
  }
  nextPhase('done');
  clearInterval(report);

  const links: number[] = [];
  for (const id of world.liveJoined) links.push(world.nodes.get(id)!.overlay.links().length);
  const done: ShardReport = {
    type: 'report', shard,
    attempted: stats.attempted, succeeded: stats.succeeded, hops: stats.hops, failures: stats.failures, joinFailures: failed,
    links, joined: [...world.liveJoined], traceHash: world.trace.digest(),
    frames: world.network.totalFrames, bytes: world.network.totalBytes, crossMessages: bridge.sentMessages, framesForNoLink: bridge.framesForNoLink,
    simSeconds: (sim.now() - simStarted) / 1000, errors: [...bridge.violations, ...sim.errors.slice(0, 5).map(String)],
    waitSeconds: waitMs / 1000, windows, idleBytes, phaseSeconds,
  };
  parent.postMessage(done);

  // The routing check reads every table: each thread gives its nodes' next hops for the coordinator's keys.
  const check = await new Promise<{ keys: Id[] }>((resolve) => parent.once('message', resolve));
  const index = new Map<Id, number>();
  ids.forEach((id, i) => index.set(id, i));
  const { keys } = check;
  const nextOf = new Int32Array(n * keys.length).fill(GONE);
  for (const [id, node] of world.nodes) {
    if (!node.alive) continue;
    const i = index.get(id)!;
    for (let k = 0; k < keys.length; k++) {
      const next = node.overlay.nextHop(keys[k]!);
      nextOf[i * keys.length + k] = next === undefined ? ANSWERS : (index.get(next) ?? GONE);
    }
  }
  const hops: ShardHops = { type: 'hops', shard, nextOf };
  parent.postMessage(hops, [nextOf.buffer]);
  for (const port of job.ports) port?.close();
}

if (parentPort && workerData?.shardJob) {
  const parent = parentPort;
  runShard(workerData.shardJob as ShardJob, parent).catch((e: unknown) => {
    parent.postMessage({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  });
}
