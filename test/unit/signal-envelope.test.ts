import { describe, expect, it } from 'vitest';
import { createIdentity, createSimIdentity, ed25519Scheme, simScheme } from '../../src/core/identity.ts';
import { hashId } from '../../src/core/id.ts';
import { seededRng } from '../../src/core/rng.ts';
import { isSelfmeshError } from '../../src/core/errors.ts';
import { ReplayGuard } from '../../src/transport/replay-guard.ts';
import {
  envelopeFromWire,
  envelopeToWire,
  fingerprintOf,
  signEnvelope,
  verifyEnvelope,
} from '../../src/transport/signal-envelope.ts';
import type { SignalEnvelope } from '../../src/transport/link.ts';

const FP = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';
const sdp = (fp = FP) =>
  [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    `a=fingerprint:sha-256 ${fp}`,
    '',
  ].join('\r\n');

const rng = seededRng(7);
const alice = createIdentity(rng);
const bob = createIdentity(rng);
const NOW = 1_700_000_000_000;

function offer(overrides: Partial<SignalEnvelope> = {}): SignalEnvelope {
  return signEnvelope(alice, {
    from: alice.id,
    to: bob.id,
    token: 'tok-1',
    kind: 'offer',
    fingerprint: `sha-256 ${FP}`,
    payload: { type: 'offer', sdp: sdp() },
    time: NOW,
    ...overrides,
  });
}

function refusal(fn: () => void): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isSelfmeshError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('fingerprintOf', () => {
  it('parses and normalises the DTLS fingerprint', () => {
    expect(fingerprintOf(sdp(FP.toLowerCase()))).toBe(`sha-256 ${FP}`);
    expect(fingerprintOf('v=0\r\n')).toBeNull();
  });
  it('refuses an SDP with two different fingerprints', () => {
    expect(fingerprintOf(sdp() + `a=fingerprint:sha-256 ${FP.replace('AB', '00')}\r\n`)).toBeNull();
  });
});

describe('verifyEnvelope', () => {
  it('accepts a well-signed envelope', () => {
    expect(() => verifyEnvelope(ed25519Scheme, offer(), bob.id, NOW + 500)).not.toThrow();
  });

  it('refuses flipped signature bytes', () => {
    const env = offer();
    env.signature = env.signature.slice();
    env.signature[3]! ^= 0xff;
    expect(refusal(() => verifyEnvelope(ed25519Scheme, env, bob.id, NOW)).code).toBe('BAD_SIGNATURE');
  });

  it('refuses an SDP whose fingerprint was swapped by a relay', () => {
    const env = offer();
    env.payload = { type: 'offer', sdp: sdp(FP.replace('AB:CD', '11:22')) };
    const r = refusal(() => verifyEnvelope(ed25519Scheme, env, bob.id, NOW));
    expect(r.code).toBe('BAD_SIGNATURE');
    expect(r.message).toMatch(/fingerprint/);
  });

  it('refuses a changed signed field', () => {
    const env = { ...offer(), token: 'tok-2' };
    expect(refusal(() => verifyEnvelope(ed25519Scheme, env, bob.id, NOW)).code).toBe('BAD_SIGNATURE');
  });

  it('refuses a key that does not hash to from', () => {
    const env = { ...offer(), publicKey: bob.publicKey };
    expect(refusal(() => verifyEnvelope(ed25519Scheme, env, bob.id, NOW)).message).toMatch(/hash/);
  });

  it('refuses an envelope for someone else', () => {
    expect(refusal(() => verifyEnvelope(ed25519Scheme, offer(), alice.id, NOW)).code).toBe('REFUSED');
  });

  it('refuses a stale envelope', () => {
    expect(refusal(() => verifyEnvelope(ed25519Scheme, offer(), bob.id, NOW + 10 * 60_000)).code).toBe(
      'STALE',
    );
    expect(refusal(() => verifyEnvelope(ed25519Scheme, offer(), bob.id, NOW + 2_000, 1_000)).code).toBe(
      'STALE',
    );
  });

  it('refuses malformed envelopes without throwing anything else', () => {
    for (const junk of [
      null,
      42,
      {},
      { ...offer(), from: 'x' },
      { ...offer(), kind: 'hello' },
      { ...offer(), time: NaN },
    ]) {
      expect(refusal(() => verifyEnvelope(ed25519Scheme, junk as SignalEnvelope, bob.id, NOW)).code).toBe(
        'BAD_MESSAGE',
      );
    }
  });
});

describe('ReplayGuard', () => {
  it('refuses a token seen before, and forgets it after the window', () => {
    const guard = new ReplayGuard(1_000);
    const env = offer();
    guard.check(env, NOW);
    expect(refusal(() => guard.check(env, NOW + 10)).code).toBe('REFUSED');
    guard.check({ ...env, kind: 'answer' }, NOW + 10);
    guard.check({ ...env, time: NOW + 5_000 }, NOW + 5_000);
    expect(guard.size).toBe(1);
  });
});

describe('wire form', () => {
  it('round-trips through JSON and still verifies', () => {
    const env = offer();
    const back = envelopeFromWire(JSON.parse(JSON.stringify(envelopeToWire(env))));
    expect(back).toEqual(env);
    expect(() => verifyEnvelope(ed25519Scheme, back, bob.id, NOW)).not.toThrow();
  });
  it('refuses malformed wire envelopes', () => {
    expect(refusal(() => envelopeFromWire({ ...envelopeToWire(offer()), signature: 'zz' })).code).toBe(
      'BAD_MESSAGE',
    );
    expect(refusal(() => envelopeFromWire('nope')).code).toBe('BAD_MESSAGE');
  });
});

describe("the simulator's checksum scheme", () => {
  // Not secure, but the simulated overlay's signature checks must still catch any changed byte.
  it('verifies its own envelopes and refuses any changed byte of message, key or signature', () => {
    const simRng = seededRng(11);
    const carol = createSimIdentity(simRng);
    const dave = createSimIdentity(simRng);
    const env = signEnvelope(carol, { from: carol.id, to: dave.id, token: 't1', kind: 'offer', fingerprint: 'sim 1', payload: { fingerprint: 'sim 1' }, time: NOW });
    expect(() => verifyEnvelope(simScheme, env, dave.id, NOW)).not.toThrow();
    const message = simRng.bytes(200);
    const signature = carol.sign(message);
    expect(signature).toHaveLength(32);
    expect(simScheme.verify(carol.publicKey, message, signature)).toBe(true);
    for (let i = 0; i < message.length; i++) {
      const changed = message.slice();
      changed[i] = changed[i]! ^ (1 << (i % 8));
      expect(simScheme.verify(carol.publicKey, changed, signature)).toBe(false);
    }
    for (let i = 0; i < 32; i++) {
      const key = carol.publicKey.slice();
      key[i] = key[i]! ^ 0x80;
      expect(simScheme.verify(key, message, signature)).toBe(false);
      const forged = signature.slice();
      forged[i] = forged[i]! ^ 1;
      expect(simScheme.verify(carol.publicKey, message, forged)).toBe(false);
    }
    expect(simScheme.verify(carol.publicKey, message, dave.sign(message))).toBe(false);
    expect(simScheme.verify(carol.publicKey, message.subarray(1), signature)).toBe(false);
  });

  it('gives every key the id it hashes to, also when remembered keys share a slot', () => {
    // Keys differing only after their first two bytes land in one slot of the id memo.
    const base = seededRng(12).bytes(32);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 50; i++) {
        const key = base.slice();
        key[31] = i;
        expect(simScheme.idOf(key)).toBe(hashId(key));
      }
    }
  });
});
