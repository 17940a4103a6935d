import { describe, expect, it } from 'vitest';
import { createSimIdentity, simScheme } from '../../src/core/identity.ts';
import { seededRng } from '../../src/core/rng.ts';
import { isSelfmeshError } from '../../src/core/errors.ts';
import { MemoryNetwork } from '../../src/transport/memory-link.ts';
import { MemoryConnector } from '../../src/transport/memory-connector.ts';
import type { Link } from '../../src/transport/link.ts';
import { Simulator } from '../../sim/simulator.ts';

function setup(networkOptions: Partial<ConstructorParameters<typeof MemoryNetwork>[0]> = {}) {
  const sim = new Simulator(1_000_000);
  const rng = seededRng(3);
  const network = new MemoryNetwork({ clock: sim, rng, ...networkOptions });
  const make = () => {
    const identity = createSimIdentity(rng);
    network.addNode(identity.id);
    return { identity, connector: new MemoryConnector({ network, identity, scheme: simScheme, clock: sim, rng }) };
  };
  return { sim, network, a: make(), b: make() };
}

async function connect(s: ReturnType<typeof setup>): Promise<[Link, Link]> {
  const offer = await s.a.connector.offer(s.b.identity.id, 'direct');
  const answer = await s.b.connector.answer(offer.envelope, 'direct');
  s.a.connector.complete(answer.envelope);
  return [await s.sim.settle(offer.link, 5_000), await s.sim.settle(answer.link, 5_000)];
}

describe('memory link and connector', () => {
  it('sets up a link through signed offer and answer, and delivers frames in order', async () => {
    const s = setup({ lossRate: 0.3, jitterMs: 20 });
    const [la, lb] = await connect(s);
    expect(la.remoteId).toBe(s.b.identity.id);
    expect(lb.remoteId).toBe(s.a.identity.id);
    const got: number[] = [];
    lb.on('message', (f) => got.push(f[0]!));
    for (let i = 0; i < 50; i++) la.send(new Uint8Array([i]));
    await s.sim.runFor(5_000);
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(s.network.bytesSent(s.a.identity.id)).toBe(50);
  });

  it('refuses a replayed offer and a tampered one', async () => {
    const s = setup();
    const offer = await s.a.connector.offer(s.b.identity.id, 'direct');
    await s.b.connector.answer(offer.envelope, 'direct');
    await expect(s.b.connector.answer(offer.envelope, 'direct')).rejects.toSatisfy((e) => isSelfmeshError(e, 'REFUSED'));
    const forged = { ...offer.envelope, token: 'other', fingerprint: 'mem evil' };
    await expect(s.b.connector.answer(forged, 'direct')).rejects.toSatisfy((e) => isSelfmeshError(e));
  });

  it('closes the far end of a silently crashed node only after the dead-link timeout', async () => {
    const s = setup({ deadLinkCloseMs: 10_000 });
    const [, lb] = await connect(s);
    let closedAt = -1;
    lb.on('close', () => (closedAt = s.sim.now()));
    const crashedAt = s.sim.now();
    s.network.crash(s.a.identity.id);
    await s.sim.runFor(5_000);
    expect(closedAt).toBe(-1);
    await s.sim.runFor(6_000);
    expect(closedAt - crashedAt).toBe(10_000);
  });

  it('cannot set up a link across a partition, and can after healing', async () => {
    const s = setup();
    const a = s.a.identity.id;
    s.network.partition((id) => (id === a ? 0 : 1));
    await expect(connect(s)).rejects.toSatisfy((e) => isSelfmeshError(e, 'UNREACHABLE'));
    s.network.heal();
    const [la] = await connect(s);
    expect(la.isOpen).toBe(true);
  });
});
