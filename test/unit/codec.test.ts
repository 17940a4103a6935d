import { decode as libraryDecode, encode as libraryEncode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decode, encode, encodeTransient } from '../../src/core/codec.ts';
import { seededRng } from '../../src/core/rng.ts';

// The codec's string paths (ASCII written byte by byte, short strings interned on decode) must give
// exactly the library's bytes and values, for every kind of string.
const rng = seededRng(5);
const pick = (s: string) => s[rng.int(s.length)]!;
const ASCII = 'abcdef0123456789 ./-_ABCDEFxyz';
const OTHER = ['é', 'ß', '€', '中', '\u{1F600}', '\u0080', '\u07ff'];

function randomString(): string {
  const n = [0, 1, 8, 31, 32, 50, 51, 64, 65, 200, 255, 256, 257, 300][rng.int(14)]!;
  let s = '';
  while (s.length < n) s += rng.next() < 0.03 ? OTHER[rng.int(OTHER.length)]! : pick(ASCII);
  return s;
}

function randomValue(depth: number): unknown {
  switch (rng.int(depth > 2 ? 4 : 7)) {
    case 0: return randomString();
    case 1: return rng.int(2 ** 31) - 2 ** 30;
    case 2: return rng.next() < 0.5 ? null : rng.next() < 0.5;
    case 3: return rng.bytes(rng.int(40));
    case 4: return Array.from({ length: rng.int(5) }, () => randomValue(depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(5); i > 0; i--) o[randomString()] = rng.next() < 0.1 ? undefined : randomValue(depth + 1);
      return o;
    }
  }
}

describe('codec', () => {
  it('encodes and decodes as the library does', () => {
    for (let i = 0; i < 1000; i++) {
      const value = randomValue(0);
      const bytes = libraryEncode(value, { ignoreUndefined: true });
      expect(encode(value)).toEqual(bytes);
      expect(encodeTransient(value)).toEqual(bytes);
      expect(decode(bytes)).toEqual(libraryDecode(bytes));
      // Twice: the second decode finds its strings interned.
      expect(decode(bytes)).toEqual(libraryDecode(bytes));
    }
  });

  it('refuses truncated input as the library does', () => {
    const bytes = libraryEncode(['x'.repeat(64), 'é'.repeat(10), { key: 'value' }]);
    for (let n = 1; n < bytes.length; n++) {
      const cut = bytes.subarray(0, n);
      expect(() => decode(cut)).toThrow();
      expect(() => libraryDecode(cut)).toThrow();
    }
  });

  it('decodes binary fields as copies, not views of the input', () => {
    // Frames are cut from shared slabs: a key kept from one must not keep the slab alive or change with it.
    const key = rng.bytes(32);
    const bytes = encode({ key, big: rng.bytes(3000) });
    const out = decode(bytes) as { key: Uint8Array; big: Uint8Array };
    expect(out.key).toEqual(key);
    expect(out.key.buffer).not.toBe(bytes.buffer);
    expect(out.big.buffer).not.toBe(bytes.buffer);
    bytes.fill(0);
    expect(out.key).toEqual(key);
  });
});
