import { describe, expect, it } from 'vitest';
import type { MemoryLink } from '../../src/transport/memory-link.ts';
import { lookup, emptyStats } from '../../sim/scenarios.ts';
import { runSharded } from '../../sim/sharded.ts';
import { shardOf } from '../../sim/shard-bridge.ts';
import { makeRoster, ShardWorld } from '../../sim/shard-world.ts';

/** Two shards in this thread, stepped in windows as sim/shard-worker.ts steps them across threads. */
function inProcessRoom(seed: number) {
  const worlds = [new ShardWorld({ seed }, 0, 2), new ShardWorld({ seed }, 1, 2)];
  let end = worlds[0]!.sim.now() + 10;
  const step = async () => {
    for (const w of worlds) {
      w.bridge.windowEnd = end;
      await w.sim.runUntilTime(end - 1);
    }
    const batches = [worlds[0]!.bridge.take(1), worlds[1]!.bridge.take(0)];
    end += 10;
    worlds[0]!.bridge.windowEnd = worlds[1]!.bridge.windowEnd = end;
    worlds[0]!.bridge.receive(1, batches[1]!);
    worlds[1]!.bridge.receive(0, batches[0]!);
  };
  const runUntil = async (done: () => boolean, maxMs: number) => {
    const deadline = end + maxMs;
    while (!done() && end < deadline) await step();
    return done();
  };
  return { worlds, step, runUntil };
}

describe('sharded simulation', () => {
  it('two shards in one thread form one overlay: links cross, and every node routes to every node', async () => {
    const { worlds, runUntil } = inProcessRoom(5);
    const roster = makeRoster(5, 40);
    const joined: Promise<void>[] = [];
    roster.identities.forEach((identity, i) => {
      const world = worlds[shardOf(identity.id, 2)]!;
      world.sim.setTimeout(() => joined.push(world.startJoin(world.addNode(identity, roster.seeds[i]))), i * 50);
    });
    let settled = 0;
    expect(await runUntil(() => {
      joined.forEach((p) => void p.finally(() => settled++));
      joined.length = 0;
      return settled === 40;
    }, 120_000)).toBe(true);
    expect(worlds.map((w) => w.liveJoined.length).reduce((a, b) => a + b)).toBe(40);
    expect(worlds.every((w) => w.liveJoined.length > 5)).toBe(true);
    // Links whose ends are in different shards exist, and carried frames both ways.
    const crossEnds = worlds.flatMap((w) => [...w.nodes.values()].flatMap((n) => n.overlay.links()))
      .filter((l) => (l as unknown as MemoryLink).remote !== null);
    expect(crossEnds.length).toBeGreaterThan(20);
    expect(worlds.every((w) => w.bridge.sentMessages > 100)).toBe(true);

    // Settled, as the single-thread tests settle before they look up.
    const settledAt = worlds[0]!.sim.now() + 30_000;
    await runUntil(() => worlds[0]!.sim.now() >= settledAt, 40_000);
    const stats = emptyStats();
    let done = 0;
    // Started inside the simulation, as the threads start theirs: a frame sent between windows would be
    // due inside the window already begun, and the bridge refuses it.
    for (const w of worlds) {
      w.sim.setTimeout(() => {
        for (const from of w.liveJoined) for (const to of roster.identities) void lookup(w, from, to.id, stats).finally(() => done++);
      }, 1);
    }
    expect(await runUntil(() => done === 1600, 60_000)).toBe(true);
    expect({ attempted: stats.attempted, succeeded: stats.succeeded, failures: stats.failures }).toEqual({ attempted: 1600, succeeded: 1600, failures: {} });
    expect(worlds.flatMap((w) => w.sim.errors)).toEqual([]);
  });

  it('refuses a cross-shard handshake whose fingerprints no answer signed, and a message due inside the window', async () => {
    const { worlds, step } = inProcessRoom(6);
    const roster = makeRoster(6, 8);
    const a = roster.identities.find((x) => shardOf(x.id, 2) === 0)!;
    const b = roster.identities.find((x) => shardOf(x.id, 2) === 1)!;
    worlds[0]!.addNode(a);
    worlds[1]!.addNode(b);
    const outcome: Array<string | null> = [];
    worlds[0]!.bridge.connect(a.id, b.id, 'overlay', 'mem forged-offer', 'mem forged-answer', (end, failure) => outcome.push(end ? 'up' : (failure ?? 'none')));
    for (let i = 0; i < 40; i++) await step();
    expect(outcome).toEqual(['BAD_SIGNATURE']);
    expect(worlds[0]!.nodes.get(a.id)!.overlay.links()).toEqual([]);

    const bridge = worlds[0]!.bridge;
    expect(() => bridge.send(1, bridge.windowEnd - 1, ['c', 0, bridge.windowEnd - 1, 'early'])).toThrow(/before the window ends/);
    expect(() => bridge.send(1, bridge.windowEnd, ['c', 0, bridge.windowEnd, 'in time'])).not.toThrow();
    // Kept as well, for the run to report: a link's outbox swallows what its link throws.
    expect(bridge.violations).toEqual([expect.stringMatching(/due at \d+, before the window ends/)]);
  });

  it('runs the same on two threads for the same seed, with every lookup right and routing consistent', async () => {
    const options = { n: 120, seed: 3, rate: 20, settleSeconds: 20, workers: 2, lookups: 200, checkKeys: 50 };
    const first = await runSharded(options);
    const second = await runSharded(options);
    expect(first).toMatchObject({ live: 120, lookupSuccess: 1, inconsistent: 0, joinFailures: 0, errors: [] });
    expect(first.crossMessages).toBeGreaterThan(1000);
    expect(second.traceHash).toBe(first.traceHash);
    const figures = (r: typeof first) => ({ ...r, wallSeconds: 0, waitSeconds: [], phaseSeconds: {} });
    expect(figures(second)).toEqual(figures(first));
    const other = await runSharded({ ...options, seed: 4 });
    expect(other.traceHash).not.toBe(first.traceHash);
  }, 120_000);
});
