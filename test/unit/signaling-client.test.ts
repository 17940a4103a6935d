// The signaling client against the real signaling server (signaling/server.ts) on a free port.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startSignalingServer, type SignalingServer } from '../../signaling/server.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createIdentity } from '../../src/core/identity.ts';
import { cryptoRng, seededRng } from '../../src/core/rng.ts';
import type { SignalEnvelope } from '../../src/transport/link.ts';
import {
  SignalingClient,
  type SignalingEvents,
  type WebSocketConstructor,
} from '../../src/transport/signaling-client.ts';
import { signEnvelope } from '../../src/transport/signal-envelope.ts';

const clock = systemClock();
const rng = seededRng(3);
let server: SignalingServer;
const clients: SignalingClient[] = [];

function client(id = createIdentity(cryptoRng()).id, opts: { url?: string } = {}): SignalingClient {
  const c = new SignalingClient({
    url: opts.url ?? server.url,
    id,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    clock,
    rng,
    minBackoffMs: 50,
    maxBackoffMs: 400,
  });
  clients.push(c);
  return c;
}

function next<K extends keyof SignalingEvents>(c: SignalingClient, type: K): Promise<SignalingEvents[K]> {
  return new Promise((resolve) => c.once(type, resolve));
}

beforeEach(async () => {
  server = await startSignalingServer({ host: '127.0.0.1', port: 0 });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

describe('SignalingClient', () => {
  it('announces into a room and delivers signals only to their addressee', async () => {
    const alice = createIdentity(cryptoRng());
    const a = client(alice.id);
    const b = client();
    const c = client();
    await Promise.all([next(a, 'open'), next(b, 'open'), next(c, 'open')]);
    a.subscribe(['room-1']);
    b.subscribe(['room-1']);
    c.subscribe(['room-1']);
    // The subscription is confirmed by nothing: wait until b hears a's announce, retrying it.
    const heard = next(b, 'announce');
    const retry = setInterval(() => a.announce('room-1'), 100);
    const ann = await heard.finally(() => clearInterval(retry));
    expect(ann).toEqual({ from: alice.id, topic: 'room-1' });

    let cGotSignal = false;
    c.on('signal', () => (cGotSignal = true));
    const env: SignalEnvelope = signEnvelope(alice, {
      from: alice.id,
      to: (b as unknown as { opts: { id: string } }).opts.id,
      token: 't1',
      kind: 'offer',
      fingerprint: 'sha-256 AA',
      payload: { type: 'offer', sdp: 'v=0\r\na=fingerprint:sha-256 AA\r\n' },
      time: clock.now(),
    });
    const got = next(b, 'signal');
    expect(a.sendSignal('room-1', env)).toBe(true);
    const { envelope } = await got;
    expect(envelope).toEqual(env);
    // c is in the room but not the addressee. The server relays a's frames in order, so once c
    // hears a later announce from a, it has seen (and must have ignored) the signal.
    const cHeard = next(c, 'announce');
    a.announce('room-1');
    await cHeard;
    expect(cGotSignal).toBe(false);
    expect(a.stats().framesSent).toBeGreaterThanOrEqual(3);
    expect(b.stats().framesReceived).toBeGreaterThanOrEqual(2);
  });

  it('drops malformed relayed data and counts it', async () => {
    const a = client();
    const b = client();
    await Promise.all([next(a, 'open'), next(b, 'open')]);
    a.subscribe(['room-2']);
    b.subscribe(['room-2']);
    const heard = next(b, 'announce');
    const retry = setInterval(() => {
      a.publish('room-2', { type: 'signal', from: 'nope' });
      a.announce('room-2');
    }, 100);
    await heard.finally(() => clearInterval(retry));
    expect(b.stats().dropped).toBeGreaterThan(0);
  });

  it('reconnects with backoff after the server restarts, and subscribes again', async () => {
    const a = client();
    await next(a, 'open');
    a.subscribe(['room-3']);
    const port = server.port;
    const closed = next(a, 'close');
    await server.close();
    await closed;
    expect(a.isOpen).toBe(false);
    expect(a.publish('room-3', { x: 1 })).toBe(false);
    server = await startSignalingServer({ host: '127.0.0.1', port });
    await next(a, 'open');
    expect(a.stats().connects).toBe(2);
    expect(a.stats().topics).toEqual(['room-3']);
    const b = client(undefined, { url: server.url });
    await next(b, 'open');
    b.subscribe(['room-3']);
    const heard = next(b, 'announce');
    const retry = setInterval(() => a.announce('room-3'), 100);
    await heard.finally(() => clearInterval(retry));
  });
});
