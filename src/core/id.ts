// 256-bit node and key ids, and the XOR metric of Kademlia.
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export const ID_BYTES = 32;
export const ID_BITS = ID_BYTES * 8;

/** An id is kept as lowercase hex (64 chars): cheap to compare, to use as a Map key, and to log. */
export type Id = string;

/** Hex digit values by char code, 255 for a char that is not a lowercase hex digit. */
const NIBBLE = new Uint8Array(128).fill(255);
for (let i = 0; i < 16; i++) NIBBLE['0123456789abcdef'.charCodeAt(i)] = i;
const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

export function isId(value: unknown): value is Id {
  if (typeof value !== 'string' || value.length !== 64) return false;
  for (let i = 0; i < 64; i++) if ((NIBBLE[value.charCodeAt(i)] ?? 255) === 255) return false;
  return true;
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Lowercase hex of bytes as one flat string. Building it by `+=` (as bytesToHex does) leaves a tree of
 * concatenations that V8 keeps (and walks) for every id held in a table; ids are compared and used as
 * Map keys all the time.
 */
export function toHex(bytes: Uint8Array): string {
  const codes = new Array<number>(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    codes[2 * i] = HEX_CODES[bytes[i]! >> 4]!;
    codes[2 * i + 1] = HEX_CODES[bytes[i]! & 15]!;
  }
  return String.fromCharCode(...codes);
}

export function idFromBytes(bytes: Uint8Array): Id {
  if (bytes.length !== ID_BYTES) throw new RangeError(`id must be ${ID_BYTES} bytes, got ${bytes.length}`);
  return toHex(bytes);
}

export function idToBytes(id: Id): Uint8Array {
  return hexToBytes(id);
}

/** SHA-256 of arbitrary bytes or a UTF-8 string, as an id (used for keys and for node ids). */
export function hashId(data: Uint8Array | string): Id {
  return toHex(sha256(typeof data === 'string' ? utf8ToBytes(data) : data));
}


/** XOR distance as a 64-char hex string: lexicographic order of these strings is numeric order. */
export function distance(a: Id, b: Id): string {
  let out = '';
  for (let i = 0; i < 64; i++) out += (NIBBLE[a.charCodeAt(i)]! ^ NIBBLE[b.charCodeAt(i)]!).toString(16);
  return out;
}

// The two functions below run for every routing decision and table update, so they walk the hex
// digits in place instead of slicing and parsing (no garbage; most ids differ in the first digit).

/** Negative if a is closer to target than b, positive if farther, 0 if equal. */
export function compareDistance(target: Id, a: Id, b: Id): number {
  for (let i = 0; i < 64; i++) {
    const t = NIBBLE[target.charCodeAt(i)]!;
    const da = NIBBLE[a.charCodeAt(i)]! ^ t;
    const db = NIBBLE[b.charCodeAt(i)]! ^ t;
    if (da !== db) return da < db ? -1 : 1;
  }
  return 0;
}

/**
 * Bits 32w to 32w+31 of an id (hex digits 8w to 8w+7) as an unsigned integer. Two ids' distances to a
 * key almost always differ within the first 64 bits, so comparing these words first (see RoutingTable)
 * decides most comparisons without walking the strings.
 */
export function idWord(id: Id, w: number): number {
  let out = 0;
  for (let i = 8 * w; i < 8 * w + 8; i++) out = out * 16 + NIBBLE[id.charCodeAt(i)]!;
  return out;
}

/** Number of leading bits a and b share (256 when equal). This is the Kademlia bucket index. */
export function commonPrefixLength(a: Id, b: Id): number {
  for (let i = 0; i < 64; i++) {
    const x = NIBBLE[a.charCodeAt(i)]! ^ NIBBLE[b.charCodeAt(i)]!;
    if (x !== 0) return i * 4 + Math.clz32(x) - 28;
  }
  return ID_BITS;
}

/** Sorts ids by distance to target, closest first (returns a new array). */
export function sortByDistance(target: Id, ids: Iterable<Id>): Id[] {
  return [...ids].sort((a, b) => compareDistance(target, a, b));
}

/** A random id that shares exactly `prefix` leading bits with `base` (for refreshing bucket `prefix`). */
export function randomIdInBucket(base: Id, prefix: number, randomBytes: (n: number) => Uint8Array): Id {
  const bytes = randomBytes(ID_BYTES);
  const baseBytes = idToBytes(base);
  for (let bit = 0; bit <= prefix && bit < ID_BITS; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    const want = bit < prefix ? baseBytes[byte]! & mask : ~baseBytes[byte]! & mask;
    bytes[byte] = (bytes[byte]! & ~mask) | want;
  }
  return toHex(bytes);
}

export function shortId(id: Id): string {
  return id.slice(0, 8);
}
