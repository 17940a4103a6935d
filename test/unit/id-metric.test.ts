import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commonPrefixLength, compareDistance, distance, isId, toHex, type Id } from '../../src/core/id.ts';

// The XOR metric checked against BigInt arithmetic, the obvious (slow) definition.
const big = (id: Id) => BigInt(`0x${id}`);
const hexId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''));
// Ids that share a long prefix, so that the comparisons reach deep digits.
const nearIds = fc.tuple(hexId, fc.integer({ min: 0, max: 64 }), hexId).map(([a, keep, b]) => a.slice(0, keep) + b.slice(keep));

describe('XOR metric', () => {
  it('compareDistance orders as |a xor t| against |b xor t|', () => {
    fc.assert(fc.property(hexId, nearIds, nearIds, (t, a, b) => {
      const da = big(a) ^ big(t);
      const db = big(b) ^ big(t);
      expect(compareDistance(t, a, b)).toBe(da === db ? 0 : da < db ? -1 : 1);
    }), { numRuns: 2000 });
  });

  it('distance and commonPrefixLength agree with the numbers', () => {
    fc.assert(fc.property(hexId, nearIds, (a, b) => {
      const x = big(a) ^ big(b);
      expect(BigInt(`0x${distance(a, b)}`)).toBe(x);
      expect(distance(a, b)).toHaveLength(64);
      expect(commonPrefixLength(a, b)).toBe(x === 0n ? 256 : 256 - x.toString(2).length);
    }), { numRuns: 2000 });
  });
});

describe('id text', () => {
  it('toHex writes the same text as the padded per-byte hex, and isId accepts exactly 64 lowercase hex digits', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), (bytes) => {
      const hex = toHex(bytes);
      expect(hex).toBe(Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join(''));
      expect(isId(hex)).toBe(bytes.length === 32);
    }), { numRuns: 500 });
    fc.assert(fc.property(hexId, fc.integer({ min: 0, max: 63 }), fc.constantFrom('A', 'g', ' ', 'é', '0x', ''), (id, at, bad) => {
      expect(isId(id.slice(0, at) + bad + id.slice(at + 1))).toBe(false);
    }), { numRuns: 500 });
    expect(isId(42)).toBe(false);
  });
});
