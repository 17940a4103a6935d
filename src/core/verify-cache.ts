// Remembers signatures that verified, so the same signed bytes are checked once. A node sees one
// record from every replica of a quorum read, and one manifest from each load of a component; an
// Ed25519 verify in JavaScript costs about a millisecond and some 700 KB of short-lived BigInts, which
// is most of what a joining tab allocates (and what makes the browser grow its young heap).
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from './id.ts';
import type { SignatureScheme } from './identity.ts';

/** Entries kept (about 100 bytes each); the least recently used is forgotten first. */
export const VERIFY_CACHE_ENTRIES = 256;

/**
 * `scheme`, with its positive answers kept for `entries` signatures. Verification is a pure function of
 * (public key, message, signature), so a remembered `true` is the answer the scheme would give again.
 * Failures are not kept: a peer sending garbage must not push good entries out.
 */
export function cachingScheme(scheme: SignatureScheme, entries = VERIFY_CACHE_ENTRIES): SignatureScheme {
  // SHA-256 of key, signature and message. A Set iterates in insertion order: it is the LRU list too.
  const verified = new Set<string>();
  const digestOf = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => {
    // Lengths first, so that two different triples cannot hash the same concatenation.
    const lengths = new Uint8Array(new Uint32Array([publicKey.length, signature.length]).buffer);
    return toHex(sha256.create().update(lengths).update(publicKey).update(signature).update(message).digest());
  };
  const known = (digest: string) => {
    if (!verified.delete(digest)) return false;
    verified.add(digest);
    return true;
  };
  const remember = (digest: string) => {
    verified.add(digest);
    if (verified.size > entries) verified.delete(verified.values().next().value!);
  };
  const inner = scheme.verifyAsync?.bind(scheme);
  return {
    name: scheme.name,
    idOf: (publicKey) => scheme.idOf(publicKey),
    verify(publicKey, message, signature) {
      const digest = digestOf(publicKey, message, signature);
      if (known(digest)) return true;
      if (!scheme.verify(publicKey, message, signature)) return false;
      remember(digest);
      return true;
    },
    ...(inner && {
      async verifyAsync(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) {
        const digest = digestOf(publicKey, message, signature);
        if (known(digest)) return true;
        if (!(await inner(publicKey, message, signature))) return false;
        remember(digest);
        return true;
      },
    }),
  };
}
