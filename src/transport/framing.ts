// Splits messages into frames that fit a data channel, and puts them back together with bounds.
//
// Frame layout: byte 0 is the kind. WHOLE (0): the rest is one message. CHUNK (1): bytes 1-4 message
// number, 5-6 chunk index, 7-8 chunk count, then data. Data channels are ordered and reliable, so
// chunks of one message arrive in order; anything else is a broken or hostile peer.
import type { Clock } from '../core/clock.ts';
import { SelfmeshError } from '../core/errors.ts';
import { FRAME_MAX } from './link.ts';

export const MESSAGE_MAX = 4 * 1024 * 1024;
const WHOLE = 0;
const CHUNK = 1;
const CHUNK_HEADER = 9;

export interface FramingLimits {
  frameMax: number;
  messageMax: number;
  /** Partly received messages kept at once (per link). */
  maxPending: number;
  /** A partial message older than this is dropped. */
  pendingTimeoutMs: number;
}

export const DEFAULT_FRAMING: FramingLimits = {
  frameMax: FRAME_MAX,
  messageMax: MESSAGE_MAX,
  maxPending: 8,
  pendingTimeoutMs: 30_000,
};

/** Frames up to this size are cut from a shared slab; larger ones get their own buffer. */
const SLAB_FRAME_MAX = 2048;
const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/**
 * A new frame of n bytes. A typed array over 64 bytes gets its own backing store outside the JS heap,
 * which V8 allocates, tracks and frees one by one (several microseconds each, once per message); small
 * frames are views into a shared slab instead. A slab is never reused: it is freed when the last frame
 * cut from it is, and a frame is never written after it is sent, so views stay valid. Receivers do not
 * keep views of a frame (the codec copies binary fields), so a slab lives as long as frames in flight.
 */
function newFrame(n: number): Uint8Array {
  if (n > SLAB_FRAME_MAX) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const frame = slab.subarray(slabUsed, slabUsed + n);
  // 8-byte steps keep each frame's start aligned, as a buffer of its own would be.
  slabUsed += (n + 7) & ~7;
  return frame;
}

/** The message as one WHOLE frame (a copy), or null if it needs chunks: most messages, no array. */
export function wholeFrame(message: Uint8Array, limits: FramingLimits = DEFAULT_FRAMING): Uint8Array | null {
  if (message.length + 1 > limits.frameMax) return null;
  const frame = newFrame(message.length + 1);
  frame[0] = WHOLE;
  frame.set(message, 1);
  return frame;
}

/** The message in a WHOLE frame, or null if the frame is anything else (a chunk, or malformed). */
export function unwrapWhole(frame: Uint8Array, limits: FramingLimits = DEFAULT_FRAMING): Uint8Array | null {
  return frame.length > 0 && frame.length <= limits.frameMax && frame[0] === WHOLE ? frame.subarray(1) : null;
}

export class Framer {
  private nextMessage = 1;
  constructor(private readonly limits: FramingLimits = DEFAULT_FRAMING) {}

  split(message: Uint8Array): Uint8Array[] {
    if (message.length > this.limits.messageMax) {
      throw new SelfmeshError('TOO_LARGE', `message of ${message.length} bytes exceeds ${this.limits.messageMax}`);
    }
    const whole = wholeFrame(message, this.limits);
    if (whole) return [whole];
    const room = this.limits.frameMax - CHUNK_HEADER;
    const count = Math.ceil(message.length / room);
    if (count > 0xffff) throw new SelfmeshError('TOO_LARGE', 'message needs too many chunks');
    const id = this.nextMessage;
    this.nextMessage = (this.nextMessage + 1) >>> 0 || 1;
    const frames: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const data = message.subarray(i * room, Math.min(message.length, (i + 1) * room));
      const frame = new Uint8Array(CHUNK_HEADER + data.length);
      const view = new DataView(frame.buffer);
      frame[0] = CHUNK;
      view.setUint32(1, id);
      view.setUint16(5, i);
      view.setUint16(7, count);
      frame.set(data, CHUNK_HEADER);
      frames.push(frame);
    }
    return frames;
  }
}

interface Pending {
  count: number;
  next: number;
  parts: Uint8Array[];
  bytes: number;
  startedAt: number;
}

export class Reassembler {
  /** Made on the first chunked message: most links only ever carry whole ones. */
  private pending: Map<number, Pending> | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly limits: FramingLimits = DEFAULT_FRAMING,
  ) {}

  /** Returns a whole message when the frame completes one, null while one is partial. Throws on bad frames. */
  push(frame: Uint8Array): Uint8Array | null {
    if (frame.length === 0) throw new SelfmeshError('BAD_MESSAGE', 'empty frame');
    if (frame.length > this.limits.frameMax) throw new SelfmeshError('TOO_LARGE', `frame of ${frame.length} bytes`);
    if (frame[0] === WHOLE) return frame.subarray(1);
    if (frame[0] !== CHUNK || frame.length <= CHUNK_HEADER) throw new SelfmeshError('BAD_MESSAGE', 'bad frame header');
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const id = view.getUint32(1);
    const index = view.getUint16(5);
    const count = view.getUint16(7);
    const room = this.limits.frameMax - CHUNK_HEADER;
    if (count < 2 || (count - 1) * room >= this.limits.messageMax + room) {
      throw new SelfmeshError('TOO_LARGE', `chunk count ${count} exceeds the message limit`);
    }
    const pending = (this.pending ??= new Map());
    this.expire(pending);
    let entry = pending.get(id);
    if (!entry) {
      if (index !== 0) throw new SelfmeshError('BAD_MESSAGE', `chunk ${index} of an unknown message`);
      if (pending.size >= this.limits.maxPending) {
        throw new SelfmeshError('TOO_LARGE', 'too many partial messages at once');
      }
      entry = { count, next: 0, parts: [], bytes: 0, startedAt: this.clock.now() };
      pending.set(id, entry);
    }
    if (index !== entry.next || count !== entry.count) {
      pending.delete(id);
      throw new SelfmeshError('BAD_MESSAGE', `chunk ${index}/${count} out of order`);
    }
    const data = frame.slice(CHUNK_HEADER);
    entry.bytes += data.length;
    if (entry.bytes > this.limits.messageMax) {
      pending.delete(id);
      throw new SelfmeshError('TOO_LARGE', `message exceeds ${this.limits.messageMax} bytes`);
    }
    entry.parts.push(data);
    entry.next++;
    if (entry.next < entry.count) return null;
    pending.delete(id);
    const out = new Uint8Array(entry.bytes);
    let offset = 0;
    for (const part of entry.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  get pendingCount(): number {
    return this.pending?.size ?? 0;
  }

  private expire(pending: Map<number, Pending>): void {
    const now = this.clock.now();
    for (const [id, entry] of pending) {
      if (now - entry.startedAt > this.limits.pendingTimeoutMs) pending.delete(id);
    }
  }
}
