// The y-webrtc signaling protocol: JSON text frames, one object each.
//   client → server: subscribe {topics}, unsubscribe {topics}, publish {topic, ...}, ping
//   server → client: publish {topic, ..., clients}, pong, and (ours) error {reason}
// Unknown fields are kept and relayed unchanged, as the reference server does.

import * as v from 'valibot';
import type { Limits } from './limits.ts';

/** Every reason a frame can be refused for; also the label of the per-reason error counter. */
export const ERROR_REASONS = [
  'frame-too-large',
  'binary-frame',
  'invalid-json',
  'invalid-frame',
  'unknown-type',
  'invalid-topic',
  'topic-too-long',
  'too-many-topics',
  'rate-limited',
] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

export const FRAME_TYPES = ['subscribe', 'unsubscribe', 'publish', 'ping'] as const;
export type FrameType = (typeof FRAME_TYPES)[number];

export type ClientFrame =
  | { type: 'subscribe'; topics: string[] }
  | { type: 'unsubscribe'; topics: string[] }
  | { type: 'publish'; topic: string; [key: string]: unknown }
  | { type: 'ping' };

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; reason: ErrorReason };

const REASONS = new Set<string>(ERROR_REASONS);

/** Builds the frame schema for the given limits; issue messages are our error reasons. */
export function frameSchema(limits: Limits) {
  const topic = v.pipe(
    v.string('invalid-topic'),
    v.minLength(1, 'invalid-topic'),
    v.maxLength(limits.maxTopicLength, 'topic-too-long'),
  );
  // A single frame naming more topics than a connection may hold can never be valid.
  const topics = v.optional(
    v.pipe(v.array(topic, 'invalid-frame'), v.maxLength(limits.maxTopicsPerConnection, 'too-many-topics')),
    [],
  );
  return v.variant(
    'type',
    [
      v.looseObject({ type: v.literal('subscribe'), topics }),
      v.looseObject({ type: v.literal('unsubscribe'), topics }),
      v.looseObject({ type: v.literal('publish'), topic }),
      v.looseObject({ type: v.literal('ping') }),
    ],
    'unknown-type',
  );
}

export type FrameSchema = ReturnType<typeof frameSchema>;

/** Decodes and validates one WebSocket message. Never throws. */
export function parseFrame(data: Buffer, isBinary: boolean, limits: Limits, schema: FrameSchema): ParseResult {
  if (data.length > limits.maxFrameBytes) return { ok: false, reason: 'frame-too-large' };
  if (isBinary) return { ok: false, reason: 'binary-frame' };
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid-json' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, reason: 'invalid-frame' };
  if (typeof (json as { type?: unknown }).type !== 'string') return { ok: false, reason: 'invalid-frame' };
  const result = v.safeParse(schema, json, { abortEarly: true });
  if (!result.success) {
    const message = result.issues[0]?.message ?? '';
    return { ok: false, reason: REASONS.has(message) ? (message as ErrorReason) : 'invalid-frame' };
  }
  return { ok: true, frame: result.output as ClientFrame };
}

/**
 * The relayed form of a publish frame: the client's object with `clients` set, as the reference
 * server does. Serialised once per publish (not per receiver). Returns null if the object cannot
 * be serialised (e.g. nesting so deep that JSON.stringify overflows the stack).
 */
export function encodePublish(frame: ClientFrame & { type: 'publish' }, clients: number): string | null {
  try {
    return JSON.stringify({ ...frame, clients });
  } catch {
    return null;
  }
}

export const PONG = JSON.stringify({ type: 'pong' });

export function encodeError(reason: ErrorReason): string {
  return JSON.stringify({ type: 'error', reason });
}
