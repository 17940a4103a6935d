// Frames the overlay spares: acknowledgements that an answer makes redundant, readiness told in the
// link's own signals, introductions of nodes that are linked already or cannot be close, `ov.need`
// where the answer said it, replies to `ov.ready` from links that are not the joiner's closest.
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/core/codec.ts';
import type { Id } from '../../src/core/id.ts';
import { DEFAULT_OVERLAY_CONFIG } from '../../src/overlay/config.ts';
import type { RoutingTable } from '../../src/overlay/routing-table.ts';
import { joinAtRate } from '../../sim/scenarios.ts';
import { SimWorld } from '../../sim/world.ts';

interface Sent {
  from: Id;
  to: Id;
  method: string;
  body: unknown;
}

/** Records every request and notification the world's links carry, with its method and body. */
function recordFrames(world: SimWorld): Sent[] {
  const sent: Sent[] = [];
  const net = world.network as unknown as { transmit(from: { localId: Id; remoteId: Id }, frame: Uint8Array): void };
  const transmit = net.transmit.bind(net);
  net.transmit = (from, frame) => {
    // A whole message is framed as 0 followed by its MessagePack envelope: [type, ..., method, body].
    if (frame[0] === 0) {
      const m = decode(frame.subarray(1)) as unknown[];
      if (m[0] === 0) sent.push({ from: from.localId, to: from.remoteId, method: String(m[2]), body: m[3] });
      if (m[0] === 3) sent.push({ from: from.localId, to: from.remoteId, method: String(m[1]), body: m[2] });
    }
    transmit(from, frame);
  };
  return sent;
}

/** A node's routing table (private to the overlay): the test reads what the node would want. */
function tableOf(world: SimWorld, id: Id): RoutingTable {
  return (world.nodes.get(id)!.overlay as unknown as { table: RoutingTable }).table;
}

async function room(n: number, seed: number) {
  const world = new SimWorld({ seed });
  const sent = recordFrames(world);
  await joinAtRate(world, n, 10);
  await world.sim.runFor(5_000);
  return { world, sent };
}

describe('overlay frames', () => {
  it('a hop that answers within the acknowledgement delay sends no acknowledgement; a slow one does, in time', async () => {
    const { world, sent } = await room(40, 21);
    const ids = world.liveJoined;
    for (const id of ids) {
      world.nodes.get(id)!.overlay.registerRouted('test.slow', v.null(), async () => {
        await new Promise<void>((resolve) => world.sim.setTimeout(resolve, 1_000));
        return 'late';
      });
    }
    sent.length = 0;
    const a = world.nodes.get(ids[0]!)!;
    const target = ids.find((id) => !a.overlay.isLinked(id) && id !== a.id)!;
    const fast = await world.sim.settle(a.overlay.findClosest(target, 3), 20_000);
    expect(fast[0]).toBe(target);
    const routed = sent.filter((s) => s.method === 'ov.route').length;
    expect(routed).toBeGreaterThan(1);
    expect(sent.filter((s) => s.method === 'ov.ack')).toEqual([]);
    // The slow handler answers after 1 s, past the acknowledgement delay but within the 1.5 s an
    // upstream hop waits for one: every hop acknowledges, and the route succeeds on its first try.
    sent.length = 0;
    const slow = await world.sim.settle(a.overlay.route(target, { method: 'test.slow', body: null }), 20_000);
    expect(slow.reply).toBe('late');
    expect(slow.responder).toBe(target);
    const hops = sent.filter((s) => s.method === 'ov.route');
    expect(hops.length).toBe(slow.hops);
    expect(sent.filter((s) => s.method === 'ov.ack').length).toBe(hops.length);
    expect(a.counters.get('overlay.route.hopFailed')).toBe(0);
  });

  it('a link signaled between two joined nodes carries their readiness: no ov.readyn on it', async () => {
    const { world, sent } = await room(30, 22);
    const [aId] = world.liveJoined;
    const a = world.nodes.get(aId!)!;
    const target = world.liveJoined.find((id) => id !== a.id && !a.overlay.isLinked(id))!;
    sent.length = 0;
    expect(await world.sim.settle(a.overlay.connect(target), 20_000)).toBe(true);
    await world.sim.runFor(2_000);
    const between = (s: Sent) => (s.from === a.id && s.to === target) || (s.from === target && s.to === a.id);
    expect(sent.filter((s) => between(s) && s.method === 'ov.readyn')).toEqual([]);
    // Each end takes the other as ready, so the new link is a next hop on both sides at once.
    expect(a.overlay.nextHop(target)).toBe(target);
    expect(world.nodes.get(target)!.overlay.nextHop(a.id)).toBe(a.id);
  });

  it('a joiner tells its links its closest ones, and its neighbours introduce it only to nodes it did not name', async () => {
    const { world, sent } = await room(60, 23);
    sent.length = 0;
    const joiner = world.addNode();
    await world.sim.settle(world.startJoin(joiner), 30_000);
    await world.sim.runFor(3_000);
    const ready = sent.filter((s) => s.from === joiner.id && s.method === 'ov.ready');
    expect(ready.length).toBeGreaterThan(0);
    const named = new Set((ready[0]!.body as { neighbours: Id[] }).neighbours);
    expect(named.size).toBeGreaterThanOrEqual(DEFAULT_OVERLAY_CONFIG.neighbourhoodSize);
    // Nobody introduces the joiner to a node it named, nor a named node to the joiner.
    const intros = sent.filter((s) => s.method === 'ov.introduce');
    for (const s of intros) {
      const ids = (s.body as { ids: Id[] }).ids;
      if (ids.includes(joiner.id)) expect(named.has(s.to), `${s.from.slice(0, 6)} introduced the joiner to a named node`).toBe(false);
      if (s.to === joiner.id) for (const id of ids) expect(named.has(id)).toBe(false);
    }
    // And the neighbourhood is still right: the joiner is linked to its true closest nodes.
    const truth = world.liveJoined.filter((id) => id !== joiner.id).sort((x, y) => (BigInt(`0x${x}`) ^ BigInt(`0x${joiner.id}`)) < (BigInt(`0x${y}`) ^ BigInt(`0x${joiner.id}`)) ? -1 : 1);
    for (const id of truth.slice(0, DEFAULT_OVERLAY_CONFIG.neighbourhoodSize)) expect(joiner.overlay.isLinked(id)).toBe(true);
  });

  it('an answerer that does not need the link says so in its answer: no ov.need for it afterwards', async () => {
    const { world, sent } = await room(80, 24);
    const ids = world.liveJoined;
    // A pair not linked where the offerer wants the link and the answerer would not have asked for it
    // (a far slot it has covered).
    let pair: [Id, Id] | undefined;
    for (const a of ids) {
      const t = ids.find((x) => x !== a && !world.nodes.get(a)!.overlay.isLinked(x) && tableOf(world, a).wants(x) && !tableOf(world, x).wants(a));
      if (t) {
        pair = [a, t];
        break;
      }
    }
    expect(pair).toBeDefined();
    const [aId, tId] = pair!;
    sent.length = 0;
    expect(await world.sim.settle(world.nodes.get(aId)!.overlay.connect(tId), 20_000)).toBe(true);
    // Past two maintenance rounds on both sides: the answerer's trim finds the link as it said.
    await world.sim.runFor(3 * DEFAULT_OVERLAY_CONFIG.maintenanceMs);
    expect(world.nodes.get(aId)!.overlay.isLinked(tId)).toBe(true);
    expect(sent.filter((s) => s.from === tId && s.to === aId && s.method === 'ov.need')).toEqual([]);
    expect(tableOf(world, aId).get(tId)!.theyNeed).toBe(false);
  });

  it('a joiner asks its closest links ov.ready and tells the others in ov.readyn', async () => {
    const { world, sent } = await room(150, 25);
    sent.length = 0;
    const joiner = world.addNode();
    await world.sim.settle(world.startJoin(joiner), 30_000);
    const asked = sent.filter((s) => s.from === joiner.id && s.method === 'ov.ready');
    const named = new Set((asked[0]!.body as { neighbours: Id[] }).neighbours);
    expect(new Set(asked.map((s) => s.to))).toEqual(named);
    const told = sent.filter((s) => s.from === joiner.id && s.method === 'ov.readyn');
    expect(told.length).toBeGreaterThan(0);
    for (const s of told) expect(named.has(s.to)).toBe(false);
    // Every link heard it: none still takes the joiner for a joiner.
    await world.sim.runFor(1_000);
    for (const id of world.nodes.get(joiner.id)!.overlay.links().map((l) => l.id)) {
      expect(tableOf(world, id).get(joiner.id)?.joining).toBe(false);
    }
  });
});
