// Where a peer sits in a node's table: its bucket (common prefix length with the node) and its slot
// inside the bucket (the next few bits), so that the links of one bucket are spread over it.
import { ID_BITS, commonPrefixLength, type Id } from '../core/id.ts';

export interface Placement {
  bucket: number;
  slot: number;
}

/** Hex digit values by char code, as parseInt(c, 16) reads them (0 where it would give NaN). */
const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** The `count` bits of id starting at bit `start` (most significant first), as an integer. */
export function bitsAt(id: Id, start: number, count: number): number {
  let out = 0;
  for (let i = start; i < start + count; i++) {
    if (i >= ID_BITS) {
      out <<= 1;
      continue;
    }
    // A table, not parseInt of a one-char string: this runs per bucket of every routing decision.
    const nibble = HEX_VALUE[id.charCodeAt(i >> 2)] ?? 0;
    out = (out << 1) | ((nibble >> (3 - (i & 3))) & 1);
  }
  return out;
}

export function placementOf(self: Id, other: Id, slotBits: (bucket: number) => number): Placement {
  const bucket = commonPrefixLength(self, other);
  const bits = slotBits(bucket);
  return { bucket, slot: bits > 0 ? bitsAt(other, bucket + 1, bits) : 0 };
}

export function slotKey(bucket: number, slot: number): number {
  return bucket * 256 + slot;
}

/**
 * A random id in slot `slot` of bucket `bucket` as seen from `self`: it shares `bucket` bits with self,
 * differs at bit `bucket`, and has `slot` in the following bits.
 */
export function randomIdInSlot(self: Id, bucket: number, slot: number, bits: number, randomBytes: (n: number) => Uint8Array): Id {
  const out = Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, '0')).join('').split('');
  const setBit = (i: number, value: number) => {
    const nibble = parseInt(out[i >> 2]!, 16);
    const mask = 8 >> (i & 3);
    out[i >> 2] = (value ? nibble | mask : nibble & ~mask).toString(16);
  };
  for (let i = 0; i < bucket && i < ID_BITS; i++) setBit(i, bitsAt(self, i, 1));
  if (bucket < ID_BITS) setBit(bucket, 1 - bitsAt(self, bucket, 1));
  for (let j = 0; j < bits && bucket + 1 + j < ID_BITS; j++) setBit(bucket + 1 + j, (slot >> (bits - 1 - j)) & 1);
  return out.join('');
}
