// The failure detector against peers that crash silently or freeze: a silent neighbour (a replica
// holder) is declared dead well before the 30 s in which the link itself would close, while a tab frozen
// for 15 s and more (its timers and its answers stop) is neither suspected nor declared dead, and a silent far
// link is still given the ordinary, longer silence.
import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/core/counters.ts';
import { Emitter } from '../../src/core/emitter.ts';
import { SelfmeshError } from '../../src/core/errors.ts';
import { compareDistance, hashId, type Id } from '../../src/core/id.ts';
import { seededRng } from '../../src/core/rng.ts';
import { DEFAULT_OVERLAY_CONFIG } from '../../src/overlay/config.ts';
import type { OverlayContext, OverlayEvents } from '../../src/overlay/context.ts';
import { FAR_EVERY, FailureDetector } from '../../src/overlay/failure-detector.ts';
import { METHOD } from '../../src/overlay/messages.ts';
import { Contacts } from '../../src/overlay/contacts.ts';
import { RoutingTable, type Peer } from '../../src/overlay/routing-table.ts';
import type { Link } from '../../src/transport/link.ts';
import { MethodTable } from '../../src/transport/methods.ts';
import type { Rpc } from '../../src/transport/rpc.ts';
import { joinAtRate } from '../../sim/scenarios.ts';
import { Simulator } from '../../sim/simulator.ts';
import { SimWorld } from '../../sim/world.ts';

const RTT_MS = 40;

/** One simulated remote node: answers after RTT_MS unless crashed, or frozen until some time. */
interface Remote {
  crashed: boolean;
  frozenUntil: number;
}

function setup(seed = 1, peerCount = 16) {
  const clock = new Simulator(1_000_000);
  const config = DEFAULT_OVERLAY_CONFIG;
  const self = hashId('self');
  const table = new RoutingTable(self, config);
  const events = new Emitter<OverlayEvents>();
  const remotes = new Map<Id, Remote>();
  const dead: Array<{ id: Id; at: number }> = [];
  const pings: Array<{ id: Id; at: number }> = [];
  const suspected: Array<{ id: Id; at: number }> = [];
  events.on('dead', ({ id }) => dead.push({ id, at: clock.now() }));
  events.on('suspected', ({ id }) => suspected.push({ id, at: clock.now() }));

  /** Whether `id` answers a message sent now within `timeoutMs`, and when. */
  const answerAt = (id: Id, timeoutMs: number): number | null => {
    const r = remotes.get(id)!;
    if (r.crashed) return null;
    const at = Math.max(clock.now(), r.frozenUntil) + RTT_MS;
    return at - clock.now() <= timeoutMs ? at : null;
  };

  const ctx = {
    self, clock, rng: seededRng(seed), counters: new Counters(), config, table, events, methods: new MethodTable(), contacts: new Contacts(self),
    dropLink: (id: Id) => void table.remove(id),
    drop: () => undefined,
    running: true,
  } as unknown as OverlayContext;

  const addPeer = (id: Id) => {
    remotes.set(id, { crashed: false, frozenUntil: 0 });
    const { bucket, slot } = table.placement(id);
    const peer: Peer = {
      id, bucket, slot, linkedAt: clock.now(), lastHeard: clock.now(), lastPingAt: clock.now(), missedPings: 0,
      pingInFlight: false, suspected: false, theyNeed: true, toldNeed: true,
      link: { remoteId: id, isOpen: true } as unknown as Link,
      rpc: {
        request: (method: string, body: unknown, options: { timeoutMs: number }) =>
          new Promise((resolve, reject) => {
            // A probe asks this peer about another one: it answers whether that one answers it.
            const about = method === METHOD.probe ? (body as { target: Id }).target : undefined;
            if (method === METHOD.ping) pings.push({ id, at: clock.now() });
            const at = answerAt(id, options.timeoutMs);
            if (at === null) {
              clock.setTimeout(() => reject(new SelfmeshError('TIMEOUT', method)), options.timeoutMs);
              return;
            }
            clock.setTimeout(() => {
              peer.lastHeard = clock.now();
              if (about === undefined) resolve(table.size);
              else resolve({ alive: answerAt(about, config.pingTimeoutMs) !== null });
            }, at - clock.now());
          }),
      } as unknown as Rpc,
    };
    table.add(peer);
  };
  for (let i = 0; i < peerCount; i++) addPeer(hashId(`peer ${i}`));
  const detector = new FailureDetector(ctx);
  detector.start();
  return { clock, table, remotes, dead, suspected, pings, self, detector, methods: (ctx as unknown as { methods: MethodTable }).methods };
}

describe('failure detector', () => {
  it('declares a silently crashed neighbour dead within 27 s (the link itself would close at 30 s)', async () => {
    const { clock, table, remotes, dead } = setup();
    await clock.runFor(60_000);
    const times: number[] = [];
    for (const victim of table.neighbours().slice(0, 4)) {
      const t0 = clock.now();
      remotes.get(victim)!.crashed = true;
      await clock.runFor(40_000);
      const death = dead.find((d) => d.id === victim);
      expect(death, `neighbour ${victim.slice(0, 6)} declared dead`).toBeDefined();
      times.push(death!.at - t0);
    }
    for (const t of times) expect(t).toBeLessThanOrEqual(27_000);
    // Never sooner than a run of unanswered pings that a frozen tab could cause.
    for (const t of times) expect(t).toBeGreaterThanOrEqual(DEFAULT_OVERLAY_CONFIG.neighbourUnansweredMs);
  });

  it('does not suspect a neighbour frozen for 18 s (the e2e freeze of 15 s and a margin), whenever the freeze starts', async () => {
    // Seeds give different detector periods; freezes start at different points of the ping cycle.
    for (let seed = 1; seed <= 6; seed++) {
      const { clock, table, remotes, dead, suspected } = setup(seed);
      await clock.runFor(60_000);
      const nbrs = table.neighbours();
      for (let i = 0; i < 8; i++) {
        const victim = nbrs[i % nbrs.length]!;
        await clock.runFor(1_300 * i + 1_000);
        remotes.get(victim)!.frozenUntil = clock.now() + 18_000;
        await clock.runFor(40_000);
      }
      expect(suspected, `seed ${seed}`).toEqual([]);
      expect(dead, `seed ${seed}`).toEqual([]);
    }
  });

  it('gives a silent far link the ordinary silence before suspecting it', async () => {
    const { clock, table, remotes, suspected, self } = setup();
    await clock.runFor(60_000);
    const nbrs = new Set(table.neighbours());
    const far = [...table.peers.keys()].filter((id) => !nbrs.has(id)).sort((a, b) => compareDistance(self, b, a))[0]!;
    remotes.get(far)!.crashed = true;
    const heard = table.get(far)!.lastHeard;
    await clock.runFor(120_000);
    const first = suspected.find((s) => s.id === far);
    expect(first).toBeDefined();
    expect(first!.at - heard).toBeGreaterThanOrEqual(DEFAULT_OVERLAY_CONFIG.suspectSilenceMs);
    // The first ping within a minute of silence and a walk over every link (every FAR_EVERY ticks); the
    // second a timeout after the first failed, on the next tick, and so the suspicion.
    const { pingIdleMs, pingTimeoutMs, detectorTickMs } = DEFAULT_OVERLAY_CONFIG;
    expect(first!.at - heard).toBeLessThanOrEqual(pingIdleMs + 2 * pingTimeoutMs + (FAR_EVERY + 3) * detectorTickMs * 1.1);
  });

  it('pings an idle far link once a minute, an idle neighbour every few seconds', async () => {
    const { clock, table, pings } = setup();
    await clock.runFor(60_000);
    const nbrs = new Set(table.neighbours());
    const t0 = clock.now();
    await clock.runFor(180_000);
    const count = (id: Id) => pings.filter((p) => p.id === id && p.at >= t0).length;
    const far = [...table.peers.keys()].filter((id) => !nbrs.has(id));
    expect(far.length).toBeGreaterThan(0);
    for (const id of far) {
      expect(count(id)).toBeGreaterThanOrEqual(2);
      expect(count(id)).toBeLessThanOrEqual(3);
    }
    for (const id of nbrs) expect(count(id)).toBeGreaterThanOrEqual(180_000 / (DEFAULT_OVERLAY_CONFIG.neighbourPingIdleMs + 2 * DEFAULT_OVERLAY_CONFIG.detectorTickMs));
  });

  it('checks a far link that a layer above relies on as often as a neighbour, so its silent crash shows as soon', async () => {
    const { clock, table, remotes, pings, self, detector } = setup();
    await clock.runFor(60_000);
    const nbrs = new Set(table.neighbours());
    const [relied, other] = [...table.peers.keys()].filter((id) => !nbrs.has(id)).sort((a, b) => compareDistance(self, a, b));
    detector.relyOn([relied!]);
    const t0 = clock.now();
    await clock.runFor(60_000);
    const count = (id: Id) => pings.filter((p) => p.id === id && p.at >= t0).length;
    const { neighbourPingIdleMs, detectorTickMs, pingTimeoutMs } = DEFAULT_OVERLAY_CONFIG;
    expect(count(relied!)).toBeGreaterThanOrEqual(60_000 / (neighbourPingIdleMs + 2 * detectorTickMs));
    expect(count(other!)).toBeLessThanOrEqual(1);
    // Crashed silently: a ping goes unanswered (the link is in doubt, and storage plans without it)
    // within a ping interval, a tick and a timeout, not when the link closes half a minute later.
    remotes.get(relied!)!.crashed = true;
    const crashedAt = clock.now();
    expect(await clock.runUntil(() => table.get(relied!)!.missedPings > 0, 60_000, 100)).toBe(true);
    expect(clock.now() - crashedAt).toBeLessThanOrEqual(neighbourPingIdleMs + pingTimeoutMs + 2 * detectorTickMs * 1.1);
  });

  it('answers a second opinion about a neighbour frozen for a few seconds with alive, without pinging it', async () => {
    // Another node's route to it failed and that node suspects it after one missed ping; our answer
    // decides whether the frozen tab is declared dead, so it must rest on the freeze bound.
    const { clock, table, remotes, methods } = setup();
    await clock.runFor(60_000);
    const victim = table.neighbours()[0]!;
    remotes.get(victim)!.frozenUntil = clock.now() + 15_000;
    await clock.runFor(12_000);
    expect(clock.now() - table.get(victim)!.lastHeard).toBeGreaterThan(DEFAULT_OVERLAY_CONFIG.neighbourPingIdleMs);
    const checked = methods.check(METHOD.probe, 'request', { target: victim });
    if (!checked.ok) throw new Error(checked.reason);
    const reply = checked.handler(checked.body, { from: table.neighbours()[1]!, link: {} as Link });
    await expect(reply).resolves.toEqual({ alive: true });
  });
});

describe('link round trips over the memory network', () => {
  it("shows every linked node's round trip in links(), at both ends: twice the one-way latency", async () => {
    const world = new SimWorld({ seed: 3, traceFrames: false, network: { latencyMs: () => 25, jitterMs: 0 } });
    await joinAtRate(world, 16, 8);
    // Long enough for an idle far link to be pinged twice (after a minute of silence each time): the
    // second ping tells the pinged end the round trip the first one measured.
    await world.sim.runFor(300_000);
    const pairs = new Map<string, Array<number | null>>();
    for (const id of world.liveJoined) {
      for (const link of world.nodes.get(id)!.overlay.links()) {
        const pair = [id, link.id].sort().join();
        pairs.set(pair, [...(pairs.get(pair) ?? []), link.rttMs]);
      }
    }
    expect(pairs.size).toBeGreaterThan(16);
    for (const [pair, ends] of pairs) {
      // An end knows the round trip once it has had an answer (to anything but a relayed request), or
      // from the other end's pings: only one end of an idle link pings.
      expect(ends, pair).toEqual([50, 50]);
    }
  });
});
