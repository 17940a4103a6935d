// The wire codec: MessagePack, with bounds on what a decoder will allocate.
import { Decoder, Encoder } from '@msgpack/msgpack';

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder({
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
