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
