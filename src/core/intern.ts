// Short ASCII strings decoded off the wire, interned: one string per distinct value.
//
// A node id arrives as a 64-char string in almost every message, and each decode made a new copy. At
// 10,000 simulated nodes the copies held in tables (contacts, neighbour lists) were a large part of a
// 2 GB heap, and every Map lookup with a fresh copy hashed its 64 chars again (V8 keeps the hash in the
// string, so an interned id is hashed once). Strings are values in JS: sharing one is invisible.

/** Longest string interned: an id. Longer ones are rare and seldom repeated. */
export const INTERN_MAX = 64;
const SLOTS = 1 << 16;
/** Leading bytes hashed to pick a slot. */
const HASHED = 16;
const table: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined);

/**
 * The string of `length` ASCII bytes at `offset` (1 <= length <= INTERN_MAX), the same instance as the
 * last time these bytes were seen if it is still in the table; null if a byte is not ASCII (the caller
 * decodes UTF-8 itself). A slot holds the last string hashed to it.
 */
export function internAscii(bytes: Uint8Array, offset: number, length: number): string | null {
  // FNV-1a over the first bytes only: ids are random, so 16 hex digits spread them well. A hit compares
  // every byte with a stored string, and stored strings are ASCII, so a hit is ASCII too.
  let h = 0x811c9dc5 ^ length;
  for (let i = 0, head = Math.min(length, HASHED); i < head; i++) h = Math.imul(h ^ bytes[offset + i]!, 0x01000193);
  const slot = (h ^ (h >>> 16)) & (SLOTS - 1);
  const found = table[slot];
  if (found !== undefined && found.length === length) {
    let i = 0;
    while (i < length && found.charCodeAt(i) === bytes[offset + i]) i++;
    if (i === length) return found;
  }
  for (let i = 0; i < length; i++) if (bytes[offset + i]! >= 0x80) return null;
  const made = String.fromCharCode.apply(null, bytes.subarray(offset, offset + length) as unknown as number[]);
  table[slot] = made;
  return made;
}
