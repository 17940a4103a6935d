import { describe, expect, it } from 'vitest';
import { createIdentity, ed25519Scheme, type SignatureScheme } from '../../src/core/identity.ts';
import { seededRng } from '../../src/core/rng.ts';
import { cachingScheme } from '../../src/core/verify-cache.ts';

const rng = seededRng(11);
const alice = createIdentity(rng);
const bob = createIdentity(rng);
const bytes = (s: string) => new TextEncoder().encode(s);

/** ed25519Scheme, counting the verifications it really does. */
function counted(): { scheme: SignatureScheme; calls: () => number } {
  let calls = 0;
  return {
    scheme: { ...ed25519Scheme, verify: (...a) => (calls++, ed25519Scheme.verify(...a)) },
    calls: () => calls,
  };
}

describe('cachingScheme', () => {
  it('verifies the same signed bytes once', () => {
    const { scheme, calls } = counted();
    const cached = cachingScheme(scheme);
    const msg = bytes('record v1');
    const sig = alice.sign(msg);
    for (let i = 0; i < 5; i++) expect(cached.verify(alice.publicKey, msg, sig)).toBe(true);
    expect(calls()).toBe(1);
    expect(cached.idOf(alice.publicKey)).toBe(alice.id);
  });

  it('does not let a remembered signature vouch for another message or key', () => {
    const cached = cachingScheme(ed25519Scheme);
    const msg = bytes('record v1');
    const sig = alice.sign(msg);
    expect(cached.verify(alice.publicKey, msg, sig)).toBe(true);
    expect(cached.verify(alice.publicKey, bytes('record v2'), sig)).toBe(false);
    expect(cached.verify(bob.publicKey, msg, sig)).toBe(false);
    // The same message bytes in another buffer are the same message.
    expect(cached.verify(alice.publicKey, bytes('record v1'), sig.slice())).toBe(true);
  });

  it('does not remember failures, and forgets the least recently used signature first', () => {
    const { scheme, calls } = counted();
    const cached = cachingScheme(scheme, 2);
    const msgs = ['a', 'b', 'c'].map(bytes);
    const sigs = msgs.map((m) => alice.sign(m));
    const bad = sigs[0]!.slice();
    bad[0]! ^= 1;
    expect(cached.verify(alice.publicKey, msgs[0]!, bad)).toBe(false);
    expect(cached.verify(alice.publicKey, msgs[0]!, bad)).toBe(false);
    expect(calls()).toBe(2);

    cached.verify(alice.publicKey, msgs[0]!, sigs[0]!); // a
    cached.verify(alice.publicKey, msgs[1]!, sigs[1]!); // b
    cached.verify(alice.publicKey, msgs[0]!, sigs[0]!); // a again, from the cache: b is now the oldest
    cached.verify(alice.publicKey, msgs[2]!, sigs[2]!); // c pushes b out
    expect(calls()).toBe(5);
    cached.verify(alice.publicKey, msgs[0]!, sigs[0]!);
    cached.verify(alice.publicKey, msgs[2]!, sigs[2]!);
    expect(calls()).toBe(5);
    cached.verify(alice.publicKey, msgs[1]!, sigs[1]!);
    expect(calls()).toBe(6);
  });
});

describe('Ed25519 checked off the main thread', () => {
  it('gives the answers the JavaScript check gives, through the cache too', async () => {
    const message = bytes('hello');
    const signature = alice.sign(message);
    const tampered = signature.slice();
    tampered[10]! ^= 1;
    const cases: Array<[Uint8Array, Uint8Array, Uint8Array]> = [
      [alice.publicKey, message, signature],
      [bob.publicKey, message, signature],
      [alice.publicKey, bytes('hellO'), signature],
      [alice.publicKey, message, tampered],
      [alice.publicKey, message, signature.subarray(0, 63)],
      [new Uint8Array(32).fill(255), message, signature],
    ];
    const cached = cachingScheme(ed25519Scheme);
    expect(cached.verifyAsync).toBeTypeOf('function');
    for (const [publicKey, m, s] of cases) {
      const want = ed25519Scheme.verify(publicKey, m, s);
      expect(await ed25519Scheme.verifyAsync!(publicKey, m, s)).toBe(want);
      expect(await cached.verifyAsync!(publicKey, m, s)).toBe(want);
    }
    expect(cases.filter(([p, m, s]) => ed25519Scheme.verify(p, m, s))).toHaveLength(1);
  });
});
