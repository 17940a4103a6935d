// Node identity: an Ed25519 key pair; the node id is SHA-256 of the public key.
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { hashId, sameBytes, type Id } from './id.ts';
import type { Rng } from './rng.ts';

// Tables of base-point multiples with 4-bit windows instead of noble's default 6: 1,296 points for
// signing and verifying instead of 3,488. A tab builds them on its first signature and keeps them;
// the smaller tables are some 300 KB less to keep and about 4 MB less garbage to make while joining
// (which makes the browser grow its young heap), for signing about 20% slower (still under 1 ms).
ed25519.Point.BASE.precompute(4);

/** What a node needs to prove who it is. */
export interface Identity {
  readonly id: Id;
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** Checks signatures. Real nodes use Ed25519; the simulator may pass a cheaper scheme (see simCrypto). */
export interface SignatureScheme {
  readonly name: string;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /**
   * The same answer off the main thread where the platform can (WebCrypto's native Ed25519 checks in a
   * fraction of the time JavaScript takes): for checks nothing waits on synchronously. Absent in the
   * simulator's scheme, whose runs must not depend on when a promise settles.
   */
  verifyAsync?(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  idOf(publicKey: Uint8Array): Id;
}

/**
 * A signature check natively where the scheme can (a promise), else in JavaScript at once (a boolean).
 * The simulator's scheme has no native form, so its checks stay synchronous and its runs deterministic.
 */
export function checkSignature(scheme: SignatureScheme, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean | Promise<boolean> {
  return scheme.verifyAsync ? scheme.verifyAsync(publicKey, message, signature) : scheme.verify(publicKey, message, signature);
}

/** Whether WebCrypto's Ed25519 was found missing (older browsers): then the JavaScript check is used. */
let nativeEd25519 = typeof globalThis.crypto?.subtle?.importKey === 'function';

export const ed25519Scheme: SignatureScheme = {
  name: 'ed25519',
  verify(publicKey, message, signature) {
    try {
      return signature.length === 64 && publicKey.length === 32 && ed25519.verify(signature, message, publicKey);
    } catch {
      return false;
    }
  },
  async verifyAsync(publicKey, message, signature) {
    if (signature.length !== 64 || publicKey.length !== 32) return false;
    if (nativeEd25519) {
      const subtle = globalThis.crypto.subtle;
      let key: CryptoKey | undefined;
      try {
        key = await subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
      } catch (e) {
        // Not supported here (a DOMException NotSupportedError): from now on the JavaScript check.
        if (e instanceof Error && e.name === 'NotSupportedError') nativeEd25519 = false;
        else return false; // a key WebCrypto refuses (not a point on the curve)
      }
      if (key) return subtle.verify('Ed25519', key, signature as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>).catch(() => false);
    }
    return this.verify(publicKey, message, signature);
  },
  idOf: (publicKey) => hashId(publicKey),
};

export interface StoredIdentity {
  secretKey: string;
}

/** A new Ed25519 identity; with `puzzleBits` > 0 the id must have that many leading zero bits in H(id). */
export function createIdentity(rng: Rng, puzzleBits = 0): Identity {
  for (;;) {
    const identity = identityFromSecret(rng.bytes(32));
    if (puzzleBits === 0 || satisfiesPuzzle(identity.id, puzzleBits)) return identity;
  }
}

export function identityFromSecret(secretKey: Uint8Array): Identity {
  const publicKey = ed25519.getPublicKey(secretKey);
  return {
    id: hashId(publicKey),
    publicKey,
    sign: (message) => ed25519.sign(message, secretKey),
    toJSON: () => ({ secretKey: bytesToHex(secretKey) }),
  } as Identity;
}

export function exportIdentity(identity: Identity): StoredIdentity {
  return (identity as unknown as { toJSON(): StoredIdentity }).toJSON();
}

export function importIdentity(stored: StoredIdentity): Identity {
  return identityFromSecret(hexToBytes(stored.secretKey));
}

/** S/Kademlia static puzzle: H(id) starts with `bits` zero bits. */
export function satisfiesPuzzle(id: Id, bits: number): boolean {
  const h = sha256(hexToBytes(id));
  for (let i = 0; i < bits; i++) if ((h[i >> 3]! >> (7 - (i & 7))) & 1) return false;
  return true;
}

/**
 * Simulation-only scheme: a "signature" is a 32-byte checksum of publicKey || message. It is NOT secure
 * (anyone can compute it) and exists only so that 10,000 simulated nodes do not spend minutes in
 * Ed25519; the simulator still exercises every sign and verify call site with real bytes of the real
 * size, and forgery tests use ed25519Scheme. Not SHA-256 either: at a few microseconds per signed link
 * offer it was a tenth of a simulated join, and the simulator needs no collision resistance.
 */
export const simScheme: SignatureScheme = {
  name: 'sim-checksum',
  // Byte for byte (no hex strings of both): equal hex is equal bytes.
  verify: (publicKey, message, signature) => sameBytes(simSign(publicKey, message), signature),
  idOf: simIdOf,
};

/** The last key seen per slot, with its id: a simulated node checks the same few hundred keys over and over. */
const SIM_ID_SLOTS = 1 << 16;
const simIds: Array<{ publicKey: Uint8Array; id: Id } | undefined> = new Array<undefined>(SIM_ID_SLOTS).fill(undefined);

/** hashId(publicKey), remembered: SHA-256 and hex for every signal verified was a few percent of a join. */
function simIdOf(publicKey: Uint8Array): Id {
  const slot = publicKey.length >= 2 ? ((publicKey[0]! << 8) | publicKey[1]!) & (SIM_ID_SLOTS - 1) : 0;
  const known = simIds[slot];
  if (known !== undefined && sameBytes(known.publicKey, publicKey)) return known.id;
  const id = hashId(publicKey);
  simIds[slot] = { publicKey: publicKey.slice(), id };
  return id;
}

/**
 * Two independent 32-bit multiply-xor hashes over both inputs, spread into 32 bytes by a splitmix
 * step. A changed byte in either input changes the output, as a checksum would: enough for a simulator
 * whose peers are honest, and no protection at all against one that is not.
 */
function simSign(publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  let a = 0x811c9dc5 ^ publicKey.length;
  let b = 0x9e3779b9 ^ message.length;
  for (let i = 0; i < publicKey.length; i++) {
    a = Math.imul(a ^ publicKey[i]!, 0x01000193);
    b = Math.imul(b ^ publicKey[i]!, 0x5bd1e995) ^ (b >>> 15);
  }
  for (let i = 0; i < message.length; i++) {
    a = Math.imul(a ^ message[i]!, 0x01000193);
    b = Math.imul(b ^ message[i]!, 0x5bd1e995) ^ (b >>> 15);
  }
  const out = new Uint8Array(32);
  let x = a ^ Math.imul(b, 0x85ebca6b);
  for (let i = 0; i < 32; i += 4) {
    x = (x + 0x6d2b79f5) | 0;
    let z = Math.imul(x ^ (x >>> 15), x | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    z ^= b;
    out[i] = z;
    out[i + 1] = z >>> 8;
    out[i + 2] = z >>> 16;
    out[i + 3] = z >>> 24;
    b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  }
  return out;
}

export function createSimIdentity(rng: Rng): Identity {
  const publicKey = rng.bytes(32);
  return { id: hashId(publicKey), publicKey, sign: (message) => simSign(publicKey, message) };
}
