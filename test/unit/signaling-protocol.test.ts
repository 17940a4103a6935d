// The y-webrtc signaling protocol frame by frame with a plain ws client, and the per-client limits.

import { afterEach, describe, expect, it } from 'vitest';
import { TokenBucket, resolveLimits } from '../../signaling/limits.ts';
import { startSignalingServer, type ErrorReason, type Limits, type SignalingServer } from '../../signaling/server.ts';
import { TopicRegistry } from '../../signaling/topics.ts';
import { TestClient, waitFor } from './signaling-helpers.ts';

const servers: SignalingServer[] = [];
const clients: TestClient[] = [];

async function server(limits?: Partial<Limits>): Promise<SignalingServer> {
  const s = await startSignalingServer({ port: 0, limits });
  servers.push(s);
  return s;
}

async function client(s: SignalingServer, opts?: { autoPong?: boolean }): Promise<TestClient> {
  const c = await TestClient.connect(s.url, opts);
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('signaling protocol', () => {
  it('answers ping with pong', async () => {
    const s = await server();
    const a = await client(s);
    a.send({ type: 'ping' });
    expect(await a.next()).toEqual({ type: 'pong' });
    expect(s.stats().framesInByType.ping).toBe(1);
    expect(s.stats().framesOutByType.pong).toBe(1);
  });

  it('relays a publish to every subscriber, sender included, with the subscriber count', async () => {
    const s = await server();
    const [a, b, c] = [await client(s), await client(s), await client(s)];
    a.send({ type: 'subscribe', topics: ['room'] });
    b.send({ type: 'subscribe', topics: ['room'] });
    await a.drainUntilPong();
    await b.drainUntilPong();
    const frame = { type: 'publish', topic: 'room', data: { type: 'announce', from: 'peer-a' }, extra: [1, 'x'] };
    a.send(frame);
    expect(await a.next()).toEqual({ ...frame, clients: 2 });
    expect(await b.next()).toEqual({ ...frame, clients: 2 });
    // c never subscribed: after b has the frame, c's next frame is its own pong.
    expect(await c.drainUntilPong()).toEqual([]);
    const st = s.stats();
    expect(st.topics).toBe(1);
    expect(st.framesInByType.publish).toBe(1);
    expect(st.framesOutByType.publish).toBe(2);
  });

  it('lets a non-subscriber publish, as the reference server does, and ignores empty topics', async () => {
    const s = await server();
    const [a, b] = [await client(s), await client(s)];
    b.send({ type: 'subscribe', topics: ['room'] });
    await b.drainUntilPong();
    a.send({ type: 'publish', topic: 'room', data: 1 });
    expect(await b.next()).toEqual({ type: 'publish', topic: 'room', data: 1, clients: 1 });
    a.send({ type: 'publish', topic: 'nobody-here', data: 1 });
    expect(await a.drainUntilPong()).toEqual([]);
  });

  it('stops relaying after unsubscribe and deletes empty topics', async () => {
    const s = await server();
    const [a, b] = [await client(s), await client(s)];
    a.send({ type: 'subscribe', topics: ['r1', 'r2'] });
    b.send({ type: 'subscribe', topics: ['r1'] });
    await a.drainUntilPong();
    await b.drainUntilPong();
    expect(s.stats().topics).toBe(2);
    b.send({ type: 'unsubscribe', topics: ['r1', 'never-subscribed'] });
    await b.drainUntilPong();
    a.send({ type: 'publish', topic: 'r1', data: 'x' });
    expect(await a.next()).toMatchObject({ type: 'publish', clients: 1 });
    expect(await b.drainUntilPong()).toEqual([]);
    a.send({ type: 'unsubscribe', topics: ['r1', 'r2'] });
    await a.drainUntilPong();
    expect(s.stats().topics).toBe(0);
    expect(s.stats().subscriptions).toBe(0);
  });

  it('frees a connection’s subscriptions when it closes', async () => {
    const s = await server();
    const a = await client(s);
    a.send({ type: 'subscribe', topics: ['x', 'y', 'z'] });
    await a.drainUntilPong();
    expect(s.stats().topics).toBe(3);
    await a.close();
    await waitFor(() => s.stats().topics === 0 && s.stats().connections === 0, 'state freed');
  });

  it.each([
    ['not json', 'invalid-json'],
    ['[1,2]', 'invalid-frame'],
    ['null', 'invalid-frame'],
    ['{"topics":["a"]}', 'invalid-frame'],
    ['{"type":"dance"}', 'unknown-type'],
    ['{"type":"pong"}', 'unknown-type'],
    ['{"type":"subscribe","topics":"room"}', 'invalid-frame'],
    ['{"type":"subscribe","topics":[42]}', 'invalid-topic'],
    ['{"type":"subscribe","topics":[""]}', 'invalid-topic'],
    ['{"type":"publish","data":1}', 'invalid-frame'],
    ['{"type":"publish","topic":{"a":1}}', 'invalid-topic'],
    [JSON.stringify({ type: 'subscribe', topics: ['t'.repeat(257)] }), 'topic-too-long'],
  ] as [string, ErrorReason][])('refuses %s with %s and stays usable', async (frame, reason) => {
    const s = await server();
    const a = await client(s);
    a.send(frame);
    expect(await a.next()).toEqual({ type: 'error', reason });
    a.send({ type: 'ping' });
    expect(await a.next()).toEqual({ type: 'pong' });
    expect(s.stats().errorsByReason[reason]).toBe(1);
    expect(s.stats().framesInByType.refused).toBe(1);
  });

  it('refuses binary frames', async () => {
    const s = await server();
    const a = await client(s);
    a.send(Buffer.from(JSON.stringify({ type: 'ping' })));
    expect(await a.next()).toEqual({ type: 'error', reason: 'binary-frame' });
  });

  it('accepts a topic of exactly the maximum length', async () => {
    const s = await server();
    const a = await client(s);
    a.send({ type: 'subscribe', topics: ['t'.repeat(256)] });
    expect(await a.drainUntilPong()).toEqual([]);
    expect(s.stats().topics).toBe(1);
  });

  it('refuses a frame over the size limit and cuts one over twice the limit', async () => {
    const s = await server({ maxFrameBytes: 1024 });
    const a = await client(s);
    a.send({ type: 'publish', topic: 'r', data: 'x'.repeat(1100) });
    expect(await a.next()).toEqual({ type: 'error', reason: 'frame-too-large' });
    a.send({ type: 'publish', topic: 'r', data: 'x'.repeat(900) }); // under the limit: accepted
    expect(await a.drainUntilPong()).toEqual([]);
    a.send('x'.repeat(5000));
    expect(await a.closed).toBe(1009);
    await waitFor(() => s.stats().connections === 0, 'connection gone');
    expect(s.stats().errorsByReason['frame-too-large']).toBe(2);
  });

  it('keeps 64 KiB as the default frame limit', async () => {
    const s = await server();
    const a = await client(s);
    a.send({ type: 'publish', topic: 'r', data: 'x'.repeat(64 * 1024) });
    expect(await a.next()).toEqual({ type: 'error', reason: 'frame-too-large' });
    a.send({ type: 'publish', topic: 'r', data: 'x'.repeat(60 * 1024) });
    expect(await a.drainUntilPong()).toEqual([]);
  });

  it('limits topics per connection, all or nothing', async () => {
    const s = await server({ maxTopicsPerConnection: 3 });
    const a = await client(s);
    a.send({ type: 'subscribe', topics: ['a', 'b', 'c'] });
    a.send({ type: 'subscribe', topics: ['a', 'c'] }); // already held: fine
    expect(await a.drainUntilPong()).toEqual([]);
    a.send({ type: 'subscribe', topics: ['d'] });
    expect(await a.next()).toEqual({ type: 'error', reason: 'too-many-topics' });
    a.send({ type: 'subscribe', topics: ['w', 'x', 'y', 'z'] }); // more than the limit in one frame
    expect(await a.next()).toEqual({ type: 'error', reason: 'too-many-topics' });
    expect(s.stats().topics).toBe(3);
    a.send({ type: 'unsubscribe', topics: ['a'] });
    a.send({ type: 'subscribe', topics: ['d'] });
    expect(await a.drainUntilPong()).toEqual([]);
    expect(s.stats().subscriptions).toBe(3);
  });

  it('rate-limits a flood and disconnects a client that keeps on', async () => {
    const s = await server({ messagesPerSecond: 10, messageBurst: 20, maxErrors: 5 });
    const a = await client(s);
    for (let i = 0; i < 200; i++) a.send({ type: 'ping' });
    const code = await a.closed;
    expect(code).toBe(1008);
    const st = s.stats();
    // The burst passes (plus what refilled meanwhile); then errors until the error budget is gone.
    expect(st.framesOutByType.pong).toBeGreaterThanOrEqual(20);
    expect(st.framesOutByType.pong).toBeLessThan(30);
    expect(st.errorsByReason['rate-limited']).toBeGreaterThanOrEqual(6);
    expect(st.droppedByReason['too-many-errors']).toBe(1);
    // Frames after the drop are ignored, not processed.
    expect(st.framesIn).toBeLessThan(200);
    await waitFor(() => s.stats().connections === 0, 'connection gone');
  });

  it('forgives occasional errors over time', async () => {
    let now = 0;
    const bucket = new TokenBucket(1, 3, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now += 1500;
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    now += 10_000;
    expect(bucket.available()).toBe(3);
  });

  it('limits connections per address and in total, and frees the slots on close', async () => {
    const s = await server({ maxConnectionsPerAddress: 3 });
    const conns = [await client(s), await client(s), await client(s)];
    await expect(TestClient.connect(s.url)).rejects.toThrow('HTTP 429');
    expect(s.stats().rejectedByReason['max-connections-per-address']).toBe(1);
    await conns[0]!.close();
    await waitFor(() => s.stats().connections === 2, 'slot freed');
    await client(s);

    const t = await server({ maxConnections: 2 });
    await client(t);
    await client(t);
    await expect(TestClient.connect(t.url)).rejects.toThrow('HTTP 503');
    expect(t.stats().rejectedByReason['max-connections']).toBe(1);
  });

  it('drops connections that do not answer WebSocket pings, keeps those that do', async () => {
    const s = await server({ keepaliveMs: 40 });
    const silent = await client(s, { autoPong: false });
    const alive = await client(s);
    let pings = 0;
    alive.ws.on('ping', () => pings++);
    expect(await silent.closed).toBe(1006); // terminated, no close handshake
    await waitFor(() => pings >= 4, 'several keepalive rounds');
    expect(alive.isOpen).toBe(true);
    expect(s.stats().droppedByReason['keepalive-timeout']).toBe(1);
    await waitFor(() => s.stats().connections === 1, 'one connection left');
  });

  it('drops a receiver that does not read instead of buffering for it', async () => {
    const s = await server({ maxBufferedBytes: 64 * 1024, messagesPerSecond: 1e6, messageBurst: 1e6 });
    const slow = await client(s);
    const sender = await client(s);
    slow.send({ type: 'subscribe', topics: ['r'] });
    await slow.drainUntilPong();
    // Stop reading on the TCP level: the server's socket buffer fills, then its queue grows.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(60 * 1024);
    let sent = 0;
    await waitFor(
      () => {
        for (let i = 0; i < 20; i++, sent++) sender.send({ type: 'publish', topic: 'r', data: payload });
        return s.stats().droppedByReason['slow-consumer'] === 1;
      },
      'slow consumer dropped',
      15_000,
    );
    expect(sent).toBeLessThan(2000);
    expect(s.stats().topics).toBe(0);
    expect(await sender.drainUntilPong()).toEqual([]);
    slow.ws.terminate(); // its paused socket would never see the server's FIN
    await slow.closed;
  });

  it('closes clients with 1001 when the server stops', async () => {
    const s = await startSignalingServer({ port: 0 });
    const a = await TestClient.connect(s.url);
    await s.close();
    expect(await a.closed).toBe(1001);
    await expect(TestClient.connect(s.url)).rejects.toThrow();
  });
});

describe('signaling building blocks', () => {
  it('topic registry keeps both indexes in step and deletes empty entries', () => {
    const r = new TopicRegistry<string>();
    r.subscribe('c1', 'a');
    r.subscribe('c1', 'b');
    r.subscribe('c2', 'a');
    expect(r.topicCount).toBe(2);
    expect(r.countAfterSubscribe('c1', ['a', 'c', 'c'])).toBe(3);
    expect([...(r.subscribers('a') ?? [])]).toEqual(['c1', 'c2']);
    r.removeConnection('c1');
    expect(r.topicCount).toBe(1);
    expect(r.topicsOf('c1').size).toBe(0);
    r.unsubscribe('c2', 'a');
    expect(r.topicCount).toBe(0);
    expect(r.subscriptionCount).toBe(0);
  });

  it('refuses limits that would disable a bound', () => {
    expect(() => resolveLimits({ maxFrameBytes: 0 })).toThrow(RangeError);
    expect(() => resolveLimits({ messageBurst: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(resolveLimits({ maxTopicLength: 10 }).maxTopicLength).toBe(10);
    expect(resolveLimits().maxFrameBytes).toBe(64 * 1024);
  });
});
