// Room broadcasts pass through every node: a node accepts and forwards one only if its origin signed
// it and its time is near; forged, tampered and stale ones are dropped, counted, and go no further.
import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/core/counters.ts';
import { createIdentity, type Identity, type SignatureScheme } from '../../src/core/identity.ts';
import { seededRng } from '../../src/core/rng.ts';
import { BROADCAST, BROADCAST_BURST, BROADCAST_MAX_SKEW_MS, BROADCASTS_PER_SECOND, Broadcaster, type BroadcastEvent } from '../../src/node/broadcast.ts';
import type { Overlay } from '../../src/overlay/overlay.ts';
import type { Link } from '../../src/transport/link.ts';
import { MethodTable } from '../../src/transport/methods.ts';
import { ManualClock } from './helpers/manual-clock.ts';
import { BOTH_CHECKS } from './helpers/schemes.ts';

type Wire = Record<string, unknown> & { id: string; payload: unknown; time: number; signature: Uint8Array };

function setup(scheme: SignatureScheme) {
  const clock = new ManualClock();
  const rng = seededRng(77);
  const node = (identity: Identity, linkedTo: () => Identity[], bucket = 0) => {
    const methods = new MethodTable();
    const sent: Wire[] = [];
    const overlay = {
      id: identity.id,
      methods,
      links: () => linkedTo().map((peer) => ({ id: peer.id, bucket })),
      notify: (_to: string, method: string, body: Wire) => {
        expect(method).toBe(BROADCAST);
        sent.push(body);
      },
    } as unknown as Overlay;
    const counters = new Counters();
    const broadcaster = new Broadcaster(overlay, identity, scheme, clock, rng, counters);
    const heard: BroadcastEvent[] = [];
    broadcaster.events.on('message', (e) => heard.push(e));
    /** A message arriving from a linked peer, through the method table as the RPC layer hands it over. */
    const deliver = async (body: unknown) => {
      const checked = methods.check(BROADCAST, 'notify', body);
      if (!checked.ok) throw new Error(checked.reason);
      await checked.handler(checked.body, { from: 'f'.repeat(64), link: {} as Link });
    };
    return { identity, broadcaster, sent, heard, counters, deliver };
  };
  const ids = { alice: createIdentity(rng), bob: createIdentity(rng), mallory: createIdentity(rng), carol: createIdentity(rng) };
  const alice = node(ids.alice, () => [ids.bob]);
  // Bob's link is in a deeper bucket than the one Alice sent into: he forwards into it.
  const bob = node(ids.bob, () => [ids.carol], 3);
  const mallory = node(ids.mallory, () => [ids.bob]);
  // A second node with Alice's key (a modified client, or her key in two tabs): its own bound is its own.
  const aliceAgain = node(ids.alice, () => [ids.bob]);
  return { clock, alice, aliceAgain, bob, mallory };
}

describe.each(BOTH_CHECKS)('broadcast (%s)', (_how, scheme) => {
  it('delivers and forwards a broadcast its origin signed', async () => {
    const { alice, bob } = setup(scheme);
    const id = alice.broadcaster.send('room/chat', { text: 'hello' });
    await bob.deliver(alice.sent[0]);
    expect(bob.heard).toMatchObject([{ id, origin: alice.identity.id, payload: { text: 'hello' } }]);
    expect(bob.sent).toHaveLength(1);
    expect(bob.sent[0]!.payload).toEqual({ text: 'hello' });
  });

  it("drops a broadcast in another node's name, and one a forwarder changed, without forwarding either", async () => {
    const { alice, bob, mallory } = setup(scheme);
    // Mallory signs with her own key but names Alice as the origin.
    mallory.broadcaster.send('room/chat', { text: 'I am Alice' });
    await bob.deliver({ ...mallory.sent[0], origin: alice.identity.id });
    // Alice's real message, its text changed on the way.
    alice.broadcaster.send('room/chat', { text: 'pay 1' });
    await bob.deliver({ ...alice.sent[0], payload: { text: 'pay 100' } });
    // Alice's key and signature with Mallory's message.
    await bob.deliver({ ...mallory.sent[0], origin: alice.identity.id, publicKey: alice.identity.publicKey, signature: alice.sent[0]!.signature });
    expect(bob.heard).toEqual([]);
    expect(bob.sent).toEqual([]);
    expect(bob.counters.get('broadcast.dropped.forged')).toBe(3);
    // A forgery did not make the real message look like a duplicate: it still gets through.
    await bob.deliver(alice.sent[0]);
    expect(bob.heard.map((e) => e.payload)).toEqual([{ text: 'pay 1' }]);
  });

  it('drops a copy played again: as a duplicate while remembered, as stale after', async () => {
    const { clock, alice, bob } = setup(scheme);
    alice.broadcaster.send('room/chat', { text: 'once' });
    await bob.deliver(alice.sent[0]);
    clock.advance(BROADCAST_MAX_SKEW_MS - 1);
    await bob.deliver(alice.sent[0]);
    expect(bob.counters.get('broadcast.duplicate')).toBe(1);
    clock.advance(2 * BROADCAST_MAX_SKEW_MS);
    // A newer broadcast makes Bob forget the old id; the old one is refused by its time now.
    alice.broadcaster.send('room/chat', { text: 'later' });
    await bob.deliver(alice.sent[1]);
    await bob.deliver(alice.sent[0]);
    expect(bob.counters.get('broadcast.dropped.stale')).toBe(1);
    expect(bob.heard.map((e) => e.payload)).toEqual([{ text: 'once' }, { text: 'later' }]);
  });

  it('refuses a message without a signature at the schema', async () => {
    const { alice, bob } = setup(scheme);
    alice.broadcaster.send('room/chat', { text: 'x' });
    const { signature: _signature, ...unsigned } = alice.sent[0]!;
    await expect(bob.deliver(unsigned)).rejects.toThrow();
    expect(bob.heard).toEqual([]);
  });

  it('accepts the real copy arriving while a changed one is checked, and the redundant copy once', async () => {
    const { alice, bob } = setup(scheme);
    alice.broadcaster.send('room/chat', { text: 'real' });
    const real = alice.sent[0]!;
    await Promise.all([bob.deliver({ ...real, payload: { text: 'fake' } }), bob.deliver(real), bob.deliver(real)]);
    expect(bob.heard.map((e) => e.payload)).toEqual([{ text: 'real' }]);
    expect(bob.sent).toHaveLength(1);
    expect(bob.counters.get('broadcast.dropped.forged')).toBe(1);
    expect(bob.counters.get('broadcast.duplicate')).toBe(1);
  });

  it('holds an origin to its rate: the sender is refused with QUOTA, and a receiver drops the excess', async () => {
    const { clock, alice, aliceAgain, bob } = setup(scheme);
    for (let i = 0; i < BROADCAST_BURST; i++) alice.broadcaster.send('room/chat', i);
    expect(() => alice.broadcaster.send('room/chat', 'one too many')).toThrow(expect.objectContaining({ code: 'QUOTA' }));
    for (let i = 0; i < 100; i++) aliceAgain.broadcaster.send('room/chat', `again ${i}`);
    // Bob gets 300 of Alice's broadcasts at once: the burst passes, the rest is dropped and not forwarded.
    await Promise.all([...alice.sent, ...aliceAgain.sent].map((m) => bob.deliver(m)));
    expect(bob.heard).toHaveLength(BROADCAST_BURST);
    expect(bob.sent).toHaveLength(BROADCAST_BURST);
    expect(bob.counters.get('broadcast.dropped.rate')).toBe(100);
    // A second later, a second's worth more.
    clock.advance(1_000);
    for (let i = 0; i < BROADCASTS_PER_SECOND; i++) alice.broadcaster.send('room/chat', `later ${i}`);
    expect(() => alice.broadcaster.send('room/chat', 'too soon')).toThrow(expect.objectContaining({ code: 'QUOTA' }));
    for (let i = 0; i < 10; i++) aliceAgain.broadcaster.send('room/chat', `again later ${i}`);
    await Promise.all([...alice.sent.slice(BROADCAST_BURST), ...aliceAgain.sent.slice(100)].map((m) => bob.deliver(m)));
    expect(bob.heard).toHaveLength(BROADCAST_BURST + BROADCASTS_PER_SECOND);
    expect(bob.counters.get('broadcast.dropped.rate')).toBe(110);
  });
});
