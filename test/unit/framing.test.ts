import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_FRAMING, Framer, Reassembler, unwrapWhole, wholeFrame } from '../../src/transport/framing.ts';
import { FRAME_MAX } from '../../src/transport/link.ts';
import { ManualClock } from './helpers/manual-clock.ts';

function roundTrip(message: Uint8Array): Uint8Array | null {
  const framer = new Framer();
  const re = new Reassembler(new ManualClock());
  let out: Uint8Array | null = null;
  for (const frame of framer.split(message)) {
    expect(frame.length).toBeLessThanOrEqual(FRAME_MAX);
    out = re.push(frame);
  }
  return out;
}

describe('framing', () => {
  it('keeps small messages in one frame and chunks large ones at 16 KiB', () => {
    expect(new Framer().split(new Uint8Array(100))).toHaveLength(1);
    const big = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    expect(new Framer().split(big).length).toBe(Math.ceil(big.length / (FRAME_MAX - 9)));
    expect(Buffer.compare(roundTrip(big)!, big)).toBe(0);
  });

  it('cuts whole frames from shared slabs without one frame overwriting another', () => {
    // Thousands of frames of every size up to and past the slab's per-frame bound, all kept (as frames
    // in flight are): each must still hold its own message after all the others were cut.
    const messages = Array.from({ length: 3000 }, (_, i) => new Uint8Array(1 + ((i * 37) % 2500)).fill(i % 251));
    const frames = messages.map((m) => wholeFrame(m)!);
    const buffers = new Set(frames.map((f) => f.buffer));
    expect(buffers.size).toBeLessThan(frames.length / 4);
    const damaged = frames.filter((frame, i) => Buffer.compare(unwrapWhole(frame)!, messages[i]!) !== 0).length;
    expect(damaged).toBe(0);
  });

  it('round-trips any message up to the limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100_000 }), (bytes) => {
        expect(roundTrip(bytes)).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses to send a message over the limit', () => {
    const framer = new Framer({ ...DEFAULT_FRAMING, messageMax: 1000 });
    expect(() => framer.split(new Uint8Array(1001))).toThrow(/exceeds/);
  });

  it('refuses chunk counts that announce more than the limit', () => {
    const sender = new Framer({ ...DEFAULT_FRAMING, messageMax: 10_000_000 });
    const receiver = new Reassembler(new ManualClock(), { ...DEFAULT_FRAMING, messageMax: 100_000 });
    const frames = sender.split(new Uint8Array(1_000_000));
    expect(() => receiver.push(frames[0]!)).toThrow(/exceeds/);
  });

  it('refuses out-of-order and orphan chunks, and recovers for the next message', () => {
    const framer = new Framer();
    const re = new Reassembler(new ManualClock());
    const frames = framer.split(new Uint8Array(50_000));
    expect(() => re.push(frames[1]!)).toThrow(/unknown message/);
    re.push(frames[0]!);
    expect(() => re.push(frames[2]!)).toThrow(/out of order/);
    expect(re.pendingCount).toBe(0);
    const next = framer.split(new Uint8Array(40_000).fill(7));
    let out: Uint8Array | null = null;
    for (const f of next) out = re.push(f);
    expect(out).toEqual(new Uint8Array(40_000).fill(7));
  });

  it('bounds partial messages at once and expires stale ones', () => {
    const clock = new ManualClock();
    const re = new Reassembler(clock, { ...DEFAULT_FRAMING, maxPending: 2, pendingTimeoutMs: 1000 });
    const framer = new Framer();
    const firsts = [0, 1, 2].map(() => framer.split(new Uint8Array(40_000))[0]!);
    re.push(firsts[0]!);
    re.push(firsts[1]!);
    expect(() => re.push(firsts[2]!)).toThrow(/too many partial/);
    clock.advance(1001);
    expect(re.push(firsts[2]!)).toBeNull();
    expect(re.pendingCount).toBe(1);
  });

  it('rejects empty, oversized and garbage frames without throwing anything but SelfmeshError', () => {
    const re = new Reassembler(new ManualClock());
    expect(() => re.push(new Uint8Array(0))).toThrow(/empty/);
    expect(() => re.push(new Uint8Array(FRAME_MAX + 1))).toThrow(/frame of/);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (bytes) => {
        try {
          re.push(bytes);
        } catch (e) {
          expect((e as { code?: string }).code).toMatch(/BAD_MESSAGE|TOO_LARGE/);
        }
      }),
    );
  });
});
