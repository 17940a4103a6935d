// Two Node peers over @roamhq/wrtc: signed offer/answer, a link that carries frames, and refusals.
import { afterEach, describe, expect, it } from 'vitest';
import SimplePeer from 'simple-peer';
import wrtc from '@roamhq/wrtc';
import { systemClock } from '../../src/core/clock.ts';
import { isSelfmeshError } from '../../src/core/errors.ts';
import { createIdentity, ed25519Scheme, type SignatureScheme } from '../../src/core/identity.ts';
import { cachingScheme } from '../../src/core/verify-cache.ts';
import { cryptoRng } from '../../src/core/rng.ts';
import type { Link, SignalEnvelope } from '../../src/transport/link.ts';
import { WebrtcConnector, type SimplePeerConstructor } from '../../src/transport/webrtc-connector.ts';

const clock = systemClock();
const rng = cryptoRng();
const links: Link[] = [];

function connector(scheme: SignatureScheme = ed25519Scheme): WebrtcConnector {
  return new WebrtcConnector({
    identity: createIdentity(rng),
    scheme,
    clock,
    SimplePeer: SimplePeer as unknown as SimplePeerConstructor,
    wrtc: wrtc as never,
    connectTimeoutMs: 15_000,
  });
}

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isSelfmeshError(e)) return e.code;
    throw e;
  }
  return 'none';
}

afterEach(() => {
  for (const l of links.splice(0)) l.close('test over');
});

describe('WebrtcConnector (Node, wrtc)', () => {
  it('links two peers with signed signaling and carries frames both ways', async () => {
    const a = connector();
    const b = connector();
    const offer = await a.offer(b.id, 'direct');
    const answer = await b.answer(offer.envelope, 'direct');
    await a.complete(answer.envelope);
    const [la, lb] = await Promise.all([offer.link, answer.link]);
    links.push(la, lb);
    expect(la.remoteId).toBe(b.id);
    expect(lb.remoteId).toBe(a.id);
    const got = new Promise<Uint8Array>((resolve) => lb.on('message', resolve));
    la.send(new Uint8Array([1, 2, 3]));
    expect([...(await got)]).toEqual([1, 2, 3]);
    // Frames are views into shared slabs (framing.ts): only the view's bytes may go on the wire.
    const slab = new Uint8Array(64).map((_, i) => i);
    const view = new Promise<Uint8Array>((resolve) => lb.on('message', resolve));
    la.send(slab.subarray(10, 14));
    expect([...(await view)]).toEqual([10, 11, 12, 13]);
    expect(a.pendingOffers()).toBe(0);
  });

  it('refuses a replayed offer, a tampered SDP, and an answer nobody asked for', async () => {
    const a = connector();
    const b = connector();
    const offer = await a.offer(b.id, 'direct');
    const env = offer.envelope;
    const p = env.payload as { type: string; sdp: string };
    const tampered: SignalEnvelope = {
      ...env,
      // Always a change: a fingerprint that already began with 00 made a no-op tamper (1 run in 256).
      payload: {
        ...p,
        sdp: p.sdp.replace(/(a=fingerprint:\S+ )(..)/g, (_m, head: string, byte: string) =>
          head + (byte === '00' ? 'FF' : '00')),
      },
    };
    expect(await code(b.answer(tampered, 'direct'))).toBe('BAD_SIGNATURE');
    const answer = await b.answer(env, 'direct');
    expect(await code(b.answer(env, 'direct'))).toBe('REFUSED');
    const c = connector();
    expect(await code(() => c.complete(answer.envelope))).toBe('REFUSED');
    await a.complete(answer.envelope);
    expect(await code(() => a.complete(answer.envelope))).toBe('REFUSED');
    links.push(...(await Promise.all([offer.link, answer.link])));
    expect(b.counters.get('connector.refused.BAD_SIGNATURE')).toBe(1);
  });

  it("checks an offer's and an answer's signatures natively where it can, and then not again in JavaScript", async () => {
    // As a tab has it: the verify cache over Ed25519, here counting the checks done in JavaScript.
    const inJs = { count: 0 };
    const counted = (): SignatureScheme => cachingScheme({ ...ed25519Scheme, verify: (...a) => (inJs.count++, ed25519Scheme.verify(...a)) });
    const a = connector(counted());
    const b = connector(counted());
    const offer = await a.offer(b.id, 'direct');
    const answer = await b.answer(offer.envelope, 'direct');
    expect(inJs.count).toBe(0);
    await a.complete(answer.envelope);
    expect(inJs.count).toBe(0);
    links.push(...(await Promise.all([offer.link, answer.link])));
    // A forged offer and a forged answer are still refused, and said why, by the check in JavaScript.
    const c = connector(counted());
    const forged = await a.offer(c.id, 'direct');
    const signature = forged.envelope.signature.slice();
    signature[5]! ^= 1;
    expect(await code(c.answer({ ...forged.envelope, signature }, 'direct'))).toBe('BAD_SIGNATURE');
    const good = await c.answer(forged.envelope, 'direct');
    const answerSignature = good.envelope.signature.slice();
    answerSignature[9]! ^= 1;
    expect(await code(() => a.complete({ ...good.envelope, signature: answerSignature }))).toBe('BAD_SIGNATURE');
    expect(a.counters.get('connector.refused.BAD_SIGNATURE')).toBe(1);
    forged.cancel();
    good.cancel();
  });

  it('rejects the link promise when an offer is cancelled', async () => {
    const a = connector();
    const offer = await a.offer(connector().id, 'direct');
    offer.cancel();
    expect(await code(offer.link)).toBe('CANCELLED');
  });
});
