// The newcomer's side of getting in through the signaling server: it answers only as many offers at a
// time as it asks links for, so a join costs one server link and the overlay signals the rest.
import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/core/counters.ts';
import { Emitter } from '../../src/core/emitter.ts';
import type { Id } from '../../src/core/id.ts';
import { seededRng } from '../../src/core/rng.ts';
import type { Connector, Link, SignalEnvelope } from '../../src/transport/link.ts';
import { ServerBootstrap, inboxTopic } from '../../src/transport/server-bootstrap.ts';
import type { SignalingClient, SignalingEvents } from '../../src/transport/signaling-client.ts';
import { ManualClock } from './helpers/manual-clock.ts';

const SELF = 'a'.repeat(64) as Id;
const peer = (c: string) => c.repeat(64) as Id;

class FakeClient extends Emitter<SignalingEvents> {
  isOpen = true;
  sent: Array<{ topic: string; envelope: SignalEnvelope }> = [];
  subscribe(): void {}
  announce(): boolean {
    return true;
  }
  sendSignal(topic: string, envelope: SignalEnvelope): boolean {
    this.sent.push({ topic, envelope });
    return true;
  }
}

/** Answers every offer; each answer's link opens when the test says so. */
class FakeConnector implements Pick<Connector, 'answer' | 'complete'> {
  readonly opening = new Map<Id, (link: Link) => void>();
  async answer(offer: SignalEnvelope) {
    const link = new Promise<Link>((resolve) => this.opening.set(offer.from, resolve));
    return { envelope: { ...offer, kind: 'answer' as const, from: offer.to, to: offer.from }, link, cancel: () => undefined };
  }
  complete(): void {}
  offer(): never {
    throw new Error('the newcomer makes no offers here');
  }
}

const offerFrom = (from: Id): SignalEnvelope => ({
  from, to: SELF, publicKey: new Uint8Array(32), token: from.slice(0, 8), kind: 'offer', fingerprint: 'f', payload: null, time: 0, signature: new Uint8Array(64),
});

function setup() {
  const clock = new ManualClock();
  const client = new FakeClient();
  const connector = new FakeConnector();
  const counters = new Counters();
  const extra: Link[] = [];
  const bootstrap = new ServerBootstrap({
    client: client as unknown as SignalingClient,
    connector: connector as unknown as Connector,
    room: 'r', id: SELF, clock, rng: seededRng(1), counters,
    onLink: (link) => extra.push(link),
    estimateSize: () => 1,
    needsLinks: () => false,
  });
  bootstrap.start();
  return { clock, client, connector, counters, bootstrap, extra };
}

const settle = () => new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => undefined);
const linkTo = (id: Id) => ({ remoteId: id }) as unknown as Link;

describe('server bootstrap, newcomer side', () => {
  it('answers one offer for a request of one link, and ignores the others while it opens', async () => {
    const { client, connector, counters, bootstrap, extra } = setup();
    const request = bootstrap.request({ count: 1 });
    for (const c of ['b', 'c', 'd']) client.emit('signal', { envelope: offerFrom(peer(c)), topic: inboxTopic('r', SELF) });
    await settle();
    expect([...connector.opening.keys()]).toEqual([peer('b')]);
    expect(counters.get('bootstrap.enough')).toBe(2);
    expect(client.sent.map((s) => s.topic)).toEqual([inboxTopic('r', peer('b'))]);
    connector.opening.get(peer('b'))!(linkTo(peer('b')));
    expect((await request).map((l) => l.remoteId)).toEqual([peer('b')]);
    expect(extra).toEqual([]);
  });

  it('answers another offer once the first answer is slow to open', async () => {
    const { clock, client, connector, bootstrap } = setup();
    const request = bootstrap.request({ count: 1 });
    client.emit('signal', { envelope: offerFrom(peer('b')), topic: inboxTopic('r', SELF) });
    await settle();
    clock.advance(500);
    client.emit('signal', { envelope: offerFrom(peer('c')), topic: inboxTopic('r', SELF) });
    await settle();
    expect(connector.opening.size).toBe(1);
    clock.advance(600);
    client.emit('signal', { envelope: offerFrom(peer('d')), topic: inboxTopic('r', SELF) });
    await settle();
    expect([...connector.opening.keys()]).toEqual([peer('b'), peer('d')]);
    connector.opening.get(peer('d'))!(linkTo(peer('d')));
    expect((await request).map((l) => l.remoteId)).toEqual([peer('d')]);
  });
});
