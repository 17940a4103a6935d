// Routed calls pass through nodes that could tamper with them or play them again: the target runs a
// call only if the caller signed it, its time is near, and it has not run that call before.
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/core/counters.ts';
import { createIdentity, type Identity, type SignatureScheme } from '../../src/core/identity.ts';
import { seededRng } from '../../src/core/rng.ts';
import { ROUTED_CALL, RoutedCalls } from '../../src/node/routed-call.ts';
import type { Overlay } from '../../src/overlay/overlay.ts';
import type { RoutedHandler } from '../../src/overlay/route.ts';
import { MethodTable } from '../../src/transport/methods.ts';
import { ManualClock } from './helpers/manual-clock.ts';
import { BOTH_CHECKS } from './helpers/schemes.ts';

type Handler = { schema: v.GenericSchema; handler: RoutedHandler<unknown> };

function setup(scheme: SignatureScheme) {
  const clock = new ManualClock();
  const rng = seededRng(41);
  const handlers = new Map<Identity['id'], Handler>();
  /** Every routed call's body as it left the caller: what a node on the route sees and could send again. */
  const onTheWire: unknown[] = [];
  /** Delivers a body to the target as the overlay would: schema first, then the handler. */
  const deliver = async (target: string, body: unknown) => {
    const { schema, handler } = handlers.get(target)!;
    return handler(v.parse(schema, body), { key: target, origin: target, hops: 2, from: undefined });
  };
  const node = (identity: Identity) => {
    const overlay = {
      isLinked: () => false,
      registerRouted: (method: string, schema: v.GenericSchema, handler: RoutedHandler<unknown>) => {
        expect(method).toBe(ROUTED_CALL);
        handlers.set(identity.id, { schema, handler });
      },
      route: async (key: string, message: { method: string; body: unknown }) => {
        onTheWire.push(message.body);
        return { reply: await deliver(key, message.body) };
      },
    } as unknown as Overlay;
    const methods = new MethodTable();
    const received: Array<{ from: string; text: string }> = [];
    methods.register('say', v.object({ text: v.string() }), (body, ctx) => {
      received.push({ from: ctx.from, text: body.text });
      return received.length;
    });
    const counters = new Counters();
    const calls = new RoutedCalls(overlay, methods, identity, scheme, clock, counters);
    return { identity, calls, received, counters };
  };
  const a = node(createIdentity(rng));
  const b = node(createIdentity(rng));
  return { clock, a, b, onTheWire, deliver };
}

describe.each(BOTH_CHECKS)('routed calls (%s)', (_how, scheme) => {
  it('run at the target once, as the caller signed them, with the caller as `from`', async () => {
    const { a, b } = setup(scheme);
    await expect(a.calls.call(b.identity.id, 'say', { text: 'hi' })).resolves.toBe(1);
    expect(b.received).toEqual([{ from: a.identity.id, text: 'hi' }]);
  });

  it('refuses a call played again by a node on the route, and counts it', async () => {
    const { a, b, onTheWire, deliver } = setup(scheme);
    await a.calls.call(b.identity.id, 'say', { text: 'roll back' });
    await expect(deliver(b.identity.id, onTheWire[0])).rejects.toMatchObject({ code: 'REFUSED' });
    expect(b.received).toHaveLength(1);
    expect(b.counters.get('node.call.replayed')).toBe(1);
  });

  it('runs two identical calls made in the same millisecond both', async () => {
    const { a, b, onTheWire } = setup(scheme);
    await a.calls.call(b.identity.id, 'say', { text: 'same' });
    await a.calls.call(b.identity.id, 'say', { text: 'same' });
    expect(b.received).toHaveLength(2);
    // Same time, same body: only the sequence number tells them apart.
    const [first, second] = onTheWire as Array<{ time: number; seq: number }>;
    expect(first!.time).toBe(second!.time);
    expect(first!.seq).not.toBe(second!.seq);
  });

  it('refuses a replay with a new sequence number (it is signed) and one past the time window', async () => {
    const { clock, a, b, onTheWire, deliver } = setup(scheme);
    await a.calls.call(b.identity.id, 'say', { text: 'once' });
    const sent = onTheWire[0] as { seq: number };
    await expect(deliver(b.identity.id, { ...sent, seq: sent.seq + 100 })).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    expect(b.counters.get('node.call.badSignature')).toBe(1);
    // Once the call's time is too old to pass at all, the target forgets it: the time check refuses it.
    clock.advance(2 * 60_000 + 1);
    await expect(deliver(b.identity.id, sent)).rejects.toMatchObject({ code: 'STALE' });
    expect(b.received).toHaveLength(1);
  });
});
