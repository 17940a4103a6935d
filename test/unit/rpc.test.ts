import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { encode } from '../../src/core/codec.ts';
import { Counters } from '../../src/core/counters.ts';
import { systemClock } from '../../src/core/clock.ts';
import { Framer } from '../../src/transport/framing.ts';
import { MethodTable } from '../../src/transport/methods.ts';
import { RTT_WINDOW_MS, Rpc } from '../../src/transport/rpc.ts';
import { SelfmeshError } from '../../src/core/errors.ts';
import { linkPair } from './helpers/link-pair.ts';
import { ManualClock } from './helpers/manual-clock.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function setup(clock = systemClock()) {
  const [la, lb] = linkPair(A, B);
  const methodsA = new MethodTable();
  const methodsB = new MethodTable();
  const countersB = new Counters();
  methodsB.register('echo', v.object({ text: v.string() }), (body, ctx) => ({ text: body.text, from: ctx.from }));
  methodsB.register('blob', v.instance(Uint8Array), (bytes) => bytes);
  methodsB.register('fail', v.any(), () => {
    throw new SelfmeshError('CONFLICT', 'version conflict');
  });
  methodsB.register('crash', v.any(), () => {
    throw new TypeError('oops');
  });
  methodsB.register('never', v.any(), () => new Promise(() => undefined));
  const rpcA = new Rpc(la, methodsA, { clock });
  const rpcB = new Rpc(lb, methodsB, { clock, counters: countersB });
  return { la, lb, rpcA, rpcB, methodsB, countersB };
}

describe('rpc', () => {
  it('answers a request with the caller authenticated by its link', async () => {
    const { rpcA } = setup();
    await expect(rpcA.request('echo', { text: 'hi' })).resolves.toEqual({ text: 'hi', from: A });
  });

  it('carries a 1 MiB message intact through chunking', async () => {
    const { rpcA, la } = setup();
    const bytes = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) % 256);
    const back = (await rpcA.request('blob', bytes)) as Uint8Array;
    expect(Buffer.compare(back, bytes)).toBe(0);
    expect(la.sentFrames).toBeGreaterThan(60);
  });

  it('passes remote errors with their code; unknown exceptions become INTERNAL', async () => {
    const { rpcA, countersB } = setup();
    await expect(rpcA.request('fail', null)).rejects.toMatchObject({ code: 'CONFLICT', message: 'version conflict' });
    await expect(rpcA.request('crash', null)).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(countersB.get('rpc.handler.error')).toBe(1);
  });

  it('rejects a body that fails its schema before the handler, and counts it', async () => {
    const { rpcA, rpcB, countersB } = setup();
    await expect(rpcA.request('echo', { text: 42 })).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
    await expect(rpcA.request('nope', {})).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
    expect(countersB.get('rpc.dropped.bad-request')).toBe(2);
    expect(rpcB.stats.dropped).toBe(2);
  });

  it('drops malformed frames and envelopes from a peer without breaking the link', async () => {
    const { rpcA, lb, countersB } = setup();
    const framer = new Framer();
    lb.inject(new Uint8Array([0, 0xc1])); // 0xc1 is never valid MessagePack
    lb.inject(new Uint8Array([9, 1, 2]));
    for (const junk of [42, 'x', [7], [0, -1, 'echo', {}], [1, 999, null], [3, 'nonexistent', null]]) {
      for (const f of framer.split(encode(junk))) lb.inject(f);
    }
    expect(countersB.get('rpc.dropped.undecodable')).toBe(1);
    expect(countersB.get('rpc.dropped.bad-frame')).toBe(1);
    expect(countersB.get('rpc.dropped.bad-envelope')).toBe(4);
    expect(countersB.get('rpc.dropped.unexpected-reply')).toBe(1);
    expect(countersB.get('rpc.dropped.bad-notify')).toBe(1);
    await expect(rpcA.request('echo', { text: 'still up' })).resolves.toMatchObject({ text: 'still up' });
  });

  it('times out on its clock', async () => {
    const clock = new ManualClock();
    const { rpcA } = setup(clock);
    const p = rpcA.request('never', null, { timeoutMs: 500 });
    await Promise.resolve();
    clock.advance(499);
    let settled = false;
    p.catch(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    clock.advance(1);
    await expect(p).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('cancels through an AbortSignal', async () => {
    const { rpcA } = setup();
    const ctl = new AbortController();
    const p = rpcA.request('never', null, { signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('rejects pending requests when the link closes', async () => {
    const { rpcA, la } = setup();
    const p = rpcA.request('never', null);
    la.close('gone');
    await expect(p).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(rpcA.request('echo', { text: 'x' })).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('delivers notifications that pass their schema', async () => {
    const { rpcA, methodsB } = setup();
    const seen: string[] = [];
    let done!: () => void;
    const got = new Promise<void>((r) => (done = r));
    methodsB.registerNotify('note', v.string(), (text) => {
      seen.push(text);
      if (seen.length === 2) done();
    });
    rpcA.notify('note', 123);
    rpcA.notify('note', 'one');
    rpcA.notify('note', 'two');
    await got;
    expect(seen).toEqual(['one', 'two']);
  });

  it('holds frames while the link is above its high-water mark, and sends them on drain', async () => {
    const { rpcA, la } = setup();
    la.bufferedAmount = 10 * 1024 * 1024;
    const p = rpcA.request('echo', { text: 'later' });
    await Promise.resolve();
    expect(la.sentFrames).toBe(0);
    la.bufferedAmount = 0;
    la.drain();
    await expect(p).resolves.toMatchObject({ text: 'later' });
  });

  it('refuses requests beyond the in-flight bound instead of queueing without limit', async () => {
    const [la, lb] = linkPair(A, B);
    const methods = new MethodTable();
    methods.register('never', v.any(), () => new Promise(() => undefined));
    methods.register('echo', v.any(), (x) => x);
    const clock = systemClock();
    const rpcA = new Rpc(la, new MethodTable(), { clock, timeoutMs: 60_000 });
    new Rpc(lb, methods, { clock, maxIncoming: 3 });
    for (let i = 0; i < 3; i++) void rpcA.request('never', null).catch(() => undefined);
    await expect(rpcA.request('echo', 1)).rejects.toMatchObject({ code: 'REFUSED' });
    rpcA.close();
  });

  it("measures the link's round trip as the least of its recent replies', and follows a path that got slower", async () => {
    const clock = new ManualClock();
    const { rpcA, methodsB } = setup(clock);
    // The far end answers after `ms` on the clock: a reply's time is the path's plus the handler's.
    methodsB.register('after', v.number(), (ms) => new Promise((resolve) => clock.setTimeout(() => resolve(ms), ms)));
    const roundTrip = async (ms: number) => {
      const p = rpcA.request('after', ms, { timeoutMs: 10_000 });
      for (let i = 0; i < 10; i++) await Promise.resolve();
      clock.advance(ms);
      await p;
    };
    expect(rpcA.rttMs).toBeNull();
    await roundTrip(30);
    expect(rpcA.rttMs).toBe(30);
    await roundTrip(5);
    await roundTrip(50);
    expect(rpcA.rttMs).toBe(5);
    // Errors are answers too; a timeout is not.
    await expect(rpcA.request('fail', null)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(rpcA.rttMs).toBe(0);
    // A window later the quick answers are the previous window's and still count; two windows later
    // only what the path shows now does.
    clock.advance(RTT_WINDOW_MS);
    await roundTrip(50);
    expect(rpcA.rttMs).toBe(0);
    clock.advance(RTT_WINDOW_MS);
    await roundTrip(50);
    expect(rpcA.rttMs).toBe(50);
    const late = rpcA.request('never', null, { timeoutMs: 20 });
    clock.advance(20);
    await expect(late).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(rpcA.rttMs).toBe(50);
  });
});
