// Robustness: thousands of generated malformed, oversized, binary and flood frames from several
// connections. The server must keep serving, count what it refused, and free all state afterwards.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSignalingServer, type ErrorReason, type SignalingServer } from '../../signaling/server.ts';
import { TestClient, waitFor } from './signaling-helpers.ts';

const MAX_FRAME = 2048;
const PER_ADDRESS = 16;

// Frames a client might send: junk text, arbitrary JSON, protocol-shaped objects with wrong or
// random fields, binary frames, frames over the size limit (some over twice it, which ws cuts).
// A small topic alphabet so that generated subscribes and publishes meet; plus long and odd topics.
const topic = fc.oneof(
  { arbitrary: fc.constantFrom('t', 'u', 'room', 'baseline'), weight: 4 },
  { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
  { arbitrary: fc.string({ minLength: 250, maxLength: 300 }), weight: 1 },
  { arbitrary: fc.jsonValue(), weight: 1 },
);
const known = fc.constantFrom('t', 'u', 'room', 'baseline');
const protocolish = fc.record(
  {
    type: fc.oneof(
      { arbitrary: fc.constantFrom('subscribe', 'unsubscribe', 'publish', 'ping'), weight: 4 },
      { arbitrary: fc.constantFrom('pong', 'error', 'announce', ''), weight: 1 },
      { arbitrary: fc.string(), weight: 1 },
    ),
    topics: fc.oneof(
      { arbitrary: fc.array(known, { maxLength: 5 }), weight: 4 },
      { arbitrary: fc.array(topic, { maxLength: 80 }), weight: 2 },
      { arbitrary: fc.jsonValue(), weight: 1 },
    ),
    topic,
    data: fc.jsonValue({ maxDepth: 4 }),
    clients: fc.jsonValue(),
  },
  { requiredKeys: ['type'] },
);
const frame: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 200 }), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((j) => JSON.stringify(j) ?? 'null'), weight: 2 },
  { arbitrary: protocolish.map((o) => JSON.stringify(o)), weight: 6 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 1 },
  { arbitrary: fc.integer({ min: MAX_FRAME + 1, max: 3 * MAX_FRAME }).map((n) => 'x'.repeat(n)), weight: 1 },
  {
    // Deep nesting inside a valid publish: parses, but must not break re-serialisation.
    arbitrary: fc.integer({ min: 10, max: 1000 }).map((n) => `{"type":"publish","topic":"t","data":${'['.repeat(n)}${']'.repeat(n)}}`),
    weight: 1,
  },
);
const script = fc.array(fc.tuple(fc.nat({ max: 3 }), frame), { minLength: 100, maxLength: 300 });

describe('signaling robustness', () => {
  let server: SignalingServer;
  let observer: TestClient;

  beforeAll(async () => {
    server = await startSignalingServer({
      port: 0,
      limits: { maxFrameBytes: MAX_FRAME, maxConnectionsPerAddress: PER_ADDRESS, maxErrors: 100, messagesPerSecond: 200, messageBurst: 400 },
    });
    // A well-behaved client that stays for the whole run: the baseline.
    observer = await TestClient.connect(server.url);
    observer.send({ type: 'subscribe', topics: ['baseline'] });
    await observer.drainUntilPong();
  });

  afterAll(async () => {
    await observer.close();
    await server.close();
  });

  it('survives generated garbage and floods from several connections', async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(script, fc.integer({ min: 800, max: 2000 }), async (frames, floodSize) => {
        const conns = await Promise.all([0, 1, 2, 3].map(() => TestClient.connect(server.url)));
        const flooder = await TestClient.connect(server.url);
        for (const [i, f] of frames) {
          const c = conns[i]!;
          if (!c.isOpen) continue;
          c.send(f);
          sent++;
        }
        // The flood outruns the bucket (400 burst + 200/s) and then the error budget (100).
        for (let i = 0; i < floodSize && flooder.isOpen; i++, sent++) flooder.send({ type: 'ping' });
        expect(await flooder.closed).toBe(1008);

        // Once the dust settles the server counts exactly the connections still open.
        const open = () => conns.filter((c) => c.isOpen).length;
        await waitFor(() => server.stats().connections === open() + 1, 'connection count settles');
        await Promise.all(conns.map((c) => c.close()));
        await waitFor(() => server.stats().connections === 1, 'run connections gone');
      }),
      { numRuns: 12, seed: 20240601 },
    );
    expect(sent).toBeGreaterThan(10_000);

    // Still serving: ping, /health, and state back to the baseline (the observer's one topic).
    // (The observer shares the 'baseline' topic with the fuzzers, so relayed junk may precede the pong.)
    const relayed = await observer.drainUntilPong();
    for (const m of relayed) expect(m).toMatchObject({ type: 'publish', topic: 'baseline' });
    const health = (await (await fetch(server.httpUrl + '/health')).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ ok: true, connections: 1, topics: 1 });
    const st = server.stats();
    expect(st.topics).toBe(1);
    expect(st.subscriptions).toBe(1);
    expect(st.droppedByReason['too-many-errors']).toBeGreaterThanOrEqual(12);
    expect(st.framesOutByType.publish).toBeGreaterThan(0);
    const reasons: ErrorReason[] = ['invalid-json', 'invalid-frame', 'unknown-type', 'invalid-topic', 'topic-too-long', 'binary-frame', 'frame-too-large', 'rate-limited'];
    for (const reason of reasons) {
      expect(st.errorsByReason[reason], reason).toBeGreaterThan(0);
    }
    expect(st.framesIn).toBeGreaterThan(3000);

    // No leaked per-address slots: a full quota of fresh connections is still admitted.
    const fresh = await Promise.all(Array.from({ length: PER_ADDRESS - 1 }, () => TestClient.connect(server.url)));
    expect(server.stats().connections).toBe(PER_ADDRESS);
    await Promise.all(fresh.map((c) => c.close()));
    await waitFor(() => server.stats().connections === 1, 'fresh connections gone');
  });

  it('relays between honest clients while another floods', async () => {
    const a = await TestClient.connect(server.url);
    const b = await TestClient.connect(server.url);
    const flooder = await TestClient.connect(server.url);
    a.send({ type: 'subscribe', topics: ['honest'] });
    b.send({ type: 'subscribe', topics: ['honest'] });
    await a.drainUntilPong();
    await b.drainUntilPong();
    for (let i = 0; i < 3000 && flooder.isOpen; i++) flooder.send('{"type":"publish","topic":"honest","data":"spam"');
    a.send({ type: 'publish', topic: 'honest', data: 'hi' });
    const got = await b.next();
    expect(got).toEqual({ type: 'publish', topic: 'honest', data: 'hi', clients: 2 });
    expect(await flooder.closed).toBe(1008);
    await Promise.all([a.close(), b.close()]);
    await waitFor(() => server.stats().connections === 1 && server.stats().topics === 1, 'back to baseline');
  });
});
