// Malformed and forged overlay messages are dropped and counted; none of them reaches a handler.
import { describe, expect, it } from 'vitest';
import { isSelfmeshError } from '../../src/core/errors.ts';
import { compareDistance } from '../../src/core/id.ts';
import { METHOD } from '../../src/overlay/messages.ts';
import { joinAtRate } from '../../sim/scenarios.ts';
import { LOOKUP_METHOD, SimWorld } from '../../sim/world.ts';

async function smallWorld() {
  const world = new SimWorld({ seed: 5 });
  await joinAtRate(world, 8, 5);
  await world.sim.runFor(2_000);
  const a = world.nodes.get(world.liveJoined[0]!)!;
  const bId = a.overlay.links()[0]!.id;
  const b = world.nodes.get(bId)!;
  return { world, a, b };
}

const codeOf = (e: unknown) => (isSelfmeshError(e) ? e.code : String(e));

describe('overlay message checks', () => {
  it('drops a route whose hop count exceeds its limit, or is zero on arrival', async () => {
    const { world, a, b } = await smallWorld();
    const base = { key: b.id, method: LOOKUP_METHOD, body: null, origin: a.id, ttl: 1000 };
    const tooMany = a.overlay.request(b.id, METHOD.route, { ...base, hops: 9, maxHops: 4 });
    await expect(world.sim.settle(tooMany, 5_000)).rejects.toSatisfy((e) => codeOf(e) === 'BAD_MESSAGE');
    expect(b.counters.get('overlay.dropped.hops')).toBe(1);
    const zero = a.overlay.request(b.id, METHOD.route, { ...base, hops: 0, maxHops: 4 });
    await expect(world.sim.settle(zero, 5_000)).rejects.toSatisfy((e) => codeOf(e) === 'BAD_MESSAGE');
    const huge = a.overlay.request(b.id, METHOD.route, { ...base, hops: 1, maxHops: 10_000 });
    await expect(world.sim.settle(huge, 5_000)).rejects.toSatisfy((e) => codeOf(e) === 'BAD_MESSAGE');
    expect(b.counters.get('rpc.dropped.bad-request')).toBe(2);
  });

  it('drops a route that moves away from its key (a forged or looping message)', async () => {
    const { world, a, b } = await smallWorld();
    // The key is a's own id: a is closer to it than b, so a hop from a to b moves away.
    expect(compareDistance(a.id, a.id, b.id)).toBeLessThan(0);
    const msg = { key: a.id, method: LOOKUP_METHOD, body: null, origin: a.id, hops: 3, maxHops: 8, ttl: 1000 };
    await expect(world.sim.settle(a.overlay.request(b.id, METHOD.route, msg), 5_000)).rejects.toSatisfy((e) => codeOf(e) === 'BAD_MESSAGE');
    expect(b.counters.get('overlay.dropped.regress')).toBe(1);
  });

  it('answers a signal routed to a node that does not exist with UNREACHABLE, and counts it', async () => {
    const { world, a } = await smallWorld();
    const nowhere = world.randomKey();
    const offer = await world.connectorOf(a.id)!.offer(nowhere, 'overlay');
    const routed = a.overlay.route(nowhere, { method: METHOD.signal, body: { offer: offer.envelope, neighbour: false } });
    await expect(world.sim.settle(routed, 20_000)).rejects.toSatisfy((e) => codeOf(e) === 'UNREACHABLE');
    let counted = 0;
    for (const node of world.nodes.values()) counted += node.counters.get('overlay.dropped.no-target');
    expect(counted).toBeGreaterThanOrEqual(1);
  });

  it('refuses a replayed signal and a forged one, and counts both', async () => {
    const { world, a, b } = await smallWorld();
    // Unlink a and b so that b's answer depends only on the envelope checks. (b may link a again at
    // once, its neighbour; an offer from a peer linked for over 5 s is checked like any other.)
    (a.overlay as unknown as { dropLink(id: string, reason: string): void }).dropLink(b.id, 'evicted');
    await world.sim.runFor(10_000);
    const connector = world.connectorOf(a.id)!;
    const send = (body: unknown) =>
      world.sim.settle(a.overlay.route(b.id, { method: METHOD.signal, body }), 20_000).then(() => 'ok', codeOf);
    const offer = await connector.offer(b.id, 'overlay');
    expect(await send({ offer: offer.envelope, neighbour: false })).toBe('ok');
    expect(await send({ offer: offer.envelope, neighbour: false })).toBe('REFUSED');
    expect(b.counters.get('overlay.dropped.replayed-signal')).toBe(1);
    const other = await connector.offer(b.id, 'overlay');
    const forged = { ...other.envelope, fingerprint: 'mem swapped-by-a-relay' };
    expect(await send({ offer: forged, neighbour: false })).toBe('BAD_SIGNATURE');
    expect(b.counters.get('overlay.dropped.bad-signal')).toBe(1);
  });

  it('drops an unknown routed method and a malformed routed body', async () => {
    const { world, a } = await smallWorld();
    const unknown = a.overlay.route(world.randomKey(), { method: 'no.such', body: null });
    await expect(world.sim.settle(unknown, 20_000)).rejects.toSatisfy((e) => codeOf(e) === 'BAD_MESSAGE');
    const bad = a.overlay.route(world.randomKey(), { method: METHOD.closest, body: { n: 'lots' } });
    await expect(world.sim.settle(bad, 20_000)).rejects.toSatisfy((e) => codeOf(e) === 'BAD_MESSAGE');
  });

  it('takes the round trip a ping carries, and refuses a ping with one no link could have', async () => {
    const { world, a, b } = await smallWorld();
    const bAtA = () => a.overlay.links().find((l) => l.id === b.id)!.rttMs;
    for (const rtt of [-5, 1.5, 10_000_000, 'fast']) {
      const ping = b.overlay.request(a.id, METHOD.ping, rtt);
      await expect(world.sim.settle(ping, 5_000)).rejects.toSatisfy((e) => codeOf(e) === 'BAD_MESSAGE');
    }
    const before = bAtA();
    await world.sim.settle(b.overlay.request(a.id, METHOD.ping, 0), 5_000);
    // The least round trip known: what the other end timed, when that is below what this end had.
    expect(before === null || before > 0).toBe(true);
    expect(bAtA()).toBe(0);
  });
});
