// Signed signaling envelopes. An offer or answer is signed by the sender's node key over the DTLS
// fingerprint of its SDP and the envelope fields, so no carrier (the signaling server or an overlay
// node) can stand in the middle of a link: a relay that swaps the SDP changes the fingerprint, and a
// relay that re-signs cannot produce a key whose hash is the claimed `from`.
import { encodeTransient } from '../core/codec.ts';
import { SelfmeshError } from '../core/errors.ts';
import { isId, type Id } from '../core/id.ts';
import type { Identity, SignatureScheme } from '../core/identity.ts';
import type { SignalEnvelope } from './link.ts';

/** Envelopes further than this from the receiver's clock are refused (and replay memory spans it). */
export const DEFAULT_MAX_SKEW_MS = 2 * 60_000;
/** Tokens are random strings; a bound keeps a hostile sender from making us remember megabytes. */
export const MAX_TOKEN_LENGTH = 128;
const MAX_FINGERPRINT_LENGTH = 256;
// Domain separation: a signature over a signal can never be replayed as some other signed object.
const DOMAIN = 'selfmesh/signal/v1';

export type SignalFields = Omit<SignalEnvelope, 'signature' | 'publicKey'>;

/**
 * The exact bytes that are signed: a MessagePack array, so both sides encode it identically. A view of
 * the encoder's buffer, valid until the next encode: signing and verifying read it at once (a copy per
 * signal was a separate allocation outside the JS heap).
 */
export function signedBytes(env: SignalFields): Uint8Array {
  return encodeTransient([DOMAIN, env.from, env.to, env.token, env.kind, env.fingerprint, env.time]);
}

export function signEnvelope(identity: Identity, fields: SignalFields): SignalEnvelope {
  if (fields.from !== identity.id)
    throw new SelfmeshError('INTERNAL', 'envelope `from` is not this identity');
  // Field by field, not a spread (which cost as much as the simulator's signature): nothing the caller
  // added beyond the envelope's fields is sent.
  const { from, to, token, kind, fingerprint, payload, time } = fields;
  const signature = identity.sign(signedBytes(fields));
  return { from, to, token, kind, fingerprint, payload, time, publicKey: identity.publicKey, signature };
}

/**
 * The DTLS fingerprint of an SDP (`a=fingerprint:sha-256 AB:CD:...`), normalised to
 * "<algorithm lowercase> <HEX UPPERCASE>". Returns null when there is none, or when the SDP lists
 * different fingerprints (one signed fingerprint must cover every media section).
 */
export function fingerprintOf(sdp: string): string | null {
  let found: string | null = null;
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^a=fingerprint:\s*(\S+)\s+([0-9A-Fa-f:]+)\s*$/.exec(line);
    if (!m) continue;
    const fp = `${m[1]!.toLowerCase()} ${m[2]!.toUpperCase()}`;
    if (found !== null && found !== fp) return null;
    found = fp;
  }
  return found;
}

/**
 * The fingerprint the payload itself carries: from an SDP (a string, or simple-peer's `{type, sdp}`),
 * or a stand-in `{fingerprint}` (in-memory links). `undefined` when the payload carries none, in which
 * case the transport must bind its payload to the fingerprint by other means.
 */
export function payloadFingerprint(payload: unknown): string | null | undefined {
  if (typeof payload === 'string') return fingerprintOf(payload);
  if (typeof payload === 'object' && payload !== null) {
    const p = payload as { sdp?: unknown; fingerprint?: unknown };
    if (typeof p.sdp === 'string') return fingerprintOf(p.sdp);
    if (typeof p.fingerprint === 'string') return p.fingerprint;
  }
  return undefined;
}

function bad(message: string): never {
  throw new SelfmeshError('BAD_SIGNATURE', `refused signal: ${message}`);
}

/** Shape check at the edge: the envelope came off the wire and may be anything. */
export function assertEnvelopeShape(env: unknown): asserts env is SignalEnvelope {
  // What failed, or null: no closure to throw with, since this runs for every link offered or answered.
  const what = envelopeShapeFault(env as Partial<SignalEnvelope> | null);
  if (what !== null) throw new SelfmeshError('BAD_MESSAGE', `malformed signal envelope: ${what}`);
}

function envelopeShapeFault(e: Partial<SignalEnvelope> | null): string | null {
  if (typeof e !== 'object' || e === null) return 'not an object';
  if (!isId(e.from)) return 'from';
  if (!isId(e.to)) return 'to';
  if (!(e.publicKey instanceof Uint8Array)) return 'publicKey';
  if (typeof e.token !== 'string' || e.token.length === 0 || e.token.length > MAX_TOKEN_LENGTH) return 'token';
  if (e.kind !== 'offer' && e.kind !== 'answer') return 'kind';
  if (typeof e.fingerprint !== 'string' || e.fingerprint.length > MAX_FINGERPRINT_LENGTH) return 'fingerprint';
  if (typeof e.time !== 'number' || !Number.isFinite(e.time)) return 'time';
  if (!(e.signature instanceof Uint8Array)) return 'signature';
  return null;
}

/**
 * Checks an incoming envelope; throws a SelfmeshError (BAD_MESSAGE, BAD_SIGNATURE, REFUSED or STALE)
 * with a clear message. Replays are checked separately by a ReplayGuard (this function is stateless).
 */
export function verifyEnvelope(
  scheme: SignatureScheme,
  env: SignalEnvelope,
  expectedTo: Id,
  now: number,
  maxSkewMs = DEFAULT_MAX_SKEW_MS,
  /** The signature was already checked (natively, off the main thread) over these same fields. */
  signatureChecked = false,
): void {
  assertEnvelopeShape(env);
  if (env.to !== expectedTo)
    throw new SelfmeshError('REFUSED', `refused signal: addressed to ${env.to.slice(0, 8)}, not to us`);
  if (scheme.idOf(env.publicKey) !== env.from) bad('public key does not hash to the sender id');
  if (!signatureChecked && !scheme.verify(env.publicKey, signedBytes(env), env.signature)) bad('signature does not verify');
  const inPayload = payloadFingerprint(env.payload);
  if (inPayload === null) bad('payload has no single DTLS fingerprint');
  if (inPayload !== undefined && inPayload !== env.fingerprint)
    bad('DTLS fingerprint in the payload differs from the signed one');
  if (Math.abs(now - env.time) > maxSkewMs) {
    throw new SelfmeshError(
      'STALE',
      `refused signal: time is ${Math.round(now - env.time)} ms off (limit ${maxSkewMs} ms)`,
    );
  }
}

/** JSON-safe form of an envelope (the signaling server speaks JSON): binary fields as hex. */
export interface WireEnvelope extends Omit<SignalEnvelope, 'publicKey' | 'signature'> {
  publicKey: string;
  signature: string;
}

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function fromHex(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string' || s.length % 2 !== 0 || s.length > 1024 || !/^[0-9a-f]*$/i.test(s)) {
    throw new SelfmeshError('BAD_MESSAGE', `malformed signal envelope: ${what}`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function envelopeToWire(env: SignalEnvelope): WireEnvelope {
  return { ...env, publicKey: toHex(env.publicKey), signature: toHex(env.signature) };
}

/** Throws BAD_MESSAGE on anything that is not a well-formed envelope. */
export function envelopeFromWire(wire: unknown): SignalEnvelope {
  if (typeof wire !== 'object' || wire === null)
    throw new SelfmeshError('BAD_MESSAGE', 'malformed signal envelope');
  const w = wire as Record<string, unknown>;
  const env = {
    from: w.from,
    to: w.to,
    token: w.token,
    kind: w.kind,
    fingerprint: w.fingerprint,
    payload: w.payload,
    time: w.time,
    publicKey: fromHex(w.publicKey, 'publicKey'),
    signature: fromHex(w.signature, 'signature'),
  };
  assertEnvelopeShape(env);
  return env;
}
