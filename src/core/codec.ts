// The wire codec: MessagePack, with bounds on what a decoder will allocate.
import { Decoder, Encoder } from '@msgpack/msgpack';
import { INTERN_MAX, internAscii } from './intern.ts';

/** The encoder's internals that the string hook below uses (private in its typings). */
interface EncoderInternals {
  bytes: Uint8Array;
  pos: number;
  ensureBufferSizeToWrite(size: number): void;
  writeStringHeader(byteLength: number): void;
  encodeString(s: string): void;
}

/** Longest string written by the ASCII path below; longer ones go to the library's TextEncoder. */
const ASCII_MAX = 256;

/**
 * An Encoder that writes short ASCII strings byte by byte: the library hands strings over 50 chars (an
 * id has 64) to TextEncoder.encodeInto, with a new view of its buffer for each. Same bytes; a string
 * with a non-ASCII char is rewound and written by the library.
 */
class AsciiEncoder extends Encoder {}
const libraryEncodeString = (Encoder.prototype as unknown as EncoderInternals).encodeString;
(AsciiEncoder.prototype as unknown as EncoderInternals).encodeString = function (this: EncoderInternals, s: string) {
  const n = s.length;
  if (n <= ASCII_MAX) {
    const start = this.pos;
    // What the library ensures for a string of n UTF-8 bytes (header at most 5).
    this.ensureBufferSizeToWrite(5 + n);
    this.writeStringHeader(n);
    const bytes = this.bytes;
    const at = this.pos;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[at + i] = c;
    }
    if (i === n) {
      this.pos = at + n;
      return;
    }
    this.pos = start;
  }
  libraryEncodeString.call(this, s);
};

const encoder = new AsciiEncoder({ ignoreUndefined: true });

/** The decoder's internals that the string hook below uses (private in its typings). */
interface DecoderInternals {
  bytes: Uint8Array;
  pos: number;
  stateIsMapKey(): boolean;
  decodeUtf8String(byteLength: number, headerOffset: number): unknown;
}

/**
 * A Decoder whose short ASCII string values are interned (see intern.ts): the same strings as the
 * library decodes, without a new copy of each id in each message. Map keys keep the library's own
 * cache, and anything else (long, non-ASCII, truncated) takes the library's path with its checks.
 */
class InterningDecoder extends Decoder {}
const libraryDecodeString = (Decoder.prototype as unknown as DecoderInternals).decodeUtf8String;
(InterningDecoder.prototype as unknown as DecoderInternals).decodeUtf8String = function (this: DecoderInternals, byteLength: number, headerOffset: number) {
  const offset = this.pos + headerOffset;
  if (byteLength > 0 && byteLength <= INTERN_MAX && offset + byteLength <= this.bytes.byteLength && !this.stateIsMapKey()) {
    const s = internAscii(this.bytes, offset, byteLength);
    if (s !== null) {
      this.pos = offset + byteLength;
      return s;
    }
  }
  return libraryDecodeString.call(this, byteLength, headerOffset);
};

/**
 * Binary fields are copies, not views of the frame they came in: frames are cut from shared slabs
 * (framing.ts), and a key or signature kept in a table must not keep a whole slab alive. Most binary
 * fields are keys and signatures of 64 bytes or less, which V8 copies into the JS heap cheaply.
 */
const libraryDecodeBinary = (Decoder.prototype as unknown as { decodeBinary(byteLength: number, headOffset: number): Uint8Array }).decodeBinary;
(InterningDecoder.prototype as unknown as { decodeBinary(byteLength: number, headOffset: number): Uint8Array }).decodeBinary = function (
  this: unknown,
  byteLength: number,
  headOffset: number,
) {
  return libraryDecodeBinary.call(this, byteLength, headOffset).slice();
};

const decoder = new InterningDecoder({
  maxStrLength: 4 * 1024 * 1024,
  maxBinLength: 8 * 1024 * 1024,
  maxArrayLength: 100_000,
  maxMapLength: 10_000,
  maxExtLength: 0,
});

export function encode(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/**
 * Encodes into the encoder's own buffer and returns a view of it, valid only until the next encode:
 * for a caller that copies the bytes at once (the framing layer), this saves a copy per message.
 */
export function encodeTransient(value: unknown): Uint8Array {
  return encoder.encodeSharedRef(value);
}

/** Throws on malformed input; callers at the edge catch it and count the drop. */
export function decode(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}
