// Record kinds, their total order (the "stamp"), digests, and validation. Every replica and every reader
// decides "which is newer" with the same function, so replicas that exchange records converge.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { encode } from '../core/codec.ts';
import { SelfmeshError } from '../core/errors.ts';
import { hashId, type Id } from '../core/id.ts';
import { checkSignature, type Identity, type SignatureScheme } from '../core/identity.ts';

/** Version of an open record: a counter, ties broken by the writer's id. */
export interface Version {
  counter: number;
  writer: Id;
}

/** Content-addressed: key = SHA-256(value). */
export interface ImmutableRecord {
  kind: 'immutable';
  key: Id;
  value: Uint8Array;
}

/** BEP 44 style: key = SHA-256(publicKey || name); only the key's owner can sign a newer seq. */
export interface SignedRecord {
  kind: 'signed';
  key: Id;
  publicKey: Uint8Array;
  name: string;
  seq: number;
  value: Uint8Array;
  signature: Uint8Array;
}

/** Open record: anyone may write; last writer (by version) wins. value null is a tombstone. */
export interface VersionedRecord {
  kind: 'versioned';
  key: Id;
  counter: number;
  writer: Id;
  value: Uint8Array | null;
}

/** What travels between nodes. */
export type DataRecord = ImmutableRecord | SignedRecord | VersionedRecord;

/**
 * What a replica keeps: the record plus `owner`, the node charged for it under the per-writer quota.
 * owner is local bookkeeping, so it is not part of the digest.
 */
export type StoredRecord = DataRecord & { owner: Id };

/**
 * A record's position in the total order of records for one key: [kind rank, number, writer, digest].
 * Self-certifying kinds outrank open records (an open write cannot squat a content or owner key); the
 * digest breaks the remaining ties so that any two distinct records are ordered the same everywhere.
 */
export type Stamp = readonly [rank: number, n: number, w: string, d: string];

const RANK = { versioned: 1, signed: 2, immutable: 3 } as const;

export function compareStamp(a: Stamp, b: Stamp): number {
  for (let i = 0; i < 4; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** 64-bit digest (16 hex chars) of a record's content. */
export function digestOf(rec: DataRecord): string {
  return bytesToHex(sha256(encode(contentOf(rec)))).slice(0, 16);
}

export function stampOf(rec: DataRecord): Stamp {
  const d = digestOf(rec);
  switch (rec.kind) {
    case 'immutable':
      return [RANK.immutable, 0, '', d];
    case 'signed':
      return [RANK.signed, rec.seq, '', d];
    case 'versioned':
      return [RANK.versioned, rec.counter, rec.writer, d];
  }
}

/** The record without local bookkeeping, in a fixed field order (what is hashed and sent). */
export function contentOf(rec: DataRecord): DataRecord {
  switch (rec.kind) {
    case 'immutable':
      return { kind: 'immutable', key: rec.key, value: rec.value };
    case 'signed':
      return {
        kind: 'signed', key: rec.key, publicKey: rec.publicKey, name: rec.name, seq: rec.seq,
        value: rec.value, signature: rec.signature,
      };
    case 'versioned':
      return { kind: 'versioned', key: rec.key, counter: rec.counter, writer: rec.writer, value: rec.value };
  }
}

/** Approximate bytes a record takes in a store (for stats and quotas). */
export function recordBytes(rec: DataRecord): number {
  const value = rec.value?.length ?? 0;
  if (rec.kind === 'signed') return 96 + value + rec.publicKey.length + rec.signature.length + rec.name.length;
  return 96 + value;
}

export function isTombstone(rec: DataRecord): boolean {
  return rec.kind === 'versioned' && rec.value === null;
}

export function versionOf(rec: DataRecord): Version | null {
  return rec.kind === 'versioned' ? { counter: rec.counter, writer: rec.writer } : null;
}

/**
 * The version a write after `current` takes: one past it, and no lower than the writer's clock (a hybrid
 * logical clock). A writer whose read missed the newest copy (a lookup that ended in a sparse view under
 * churn) would otherwise take a counter an older write already has, and lose to it by writer id when
 * the copies meet, though its write was acknowledged; with the clock, the later write wins. A write that
 * saw the current version always goes past it, whatever the clocks.
 */
export function nextVersion(current: Version | null, writer: Id, now: number): Version {
  return { counter: Math.max((current?.counter ?? 0) + 1, Math.floor(now)), writer };
}

export function sameVersion(a: Version | null, b: Version | null): boolean {
  if (a === null || b === null) return a === b;
  return a.counter === b.counter && a.writer === b.writer;
}

// ---- construction ----

export function immutableKey(value: Uint8Array): Id {
  return hashId(value);
}

export function signedKey(publicKey: Uint8Array, name: string): Id {
  return hashId(concatBytes(publicKey, utf8ToBytes(name)));
}

/** The bytes an owner signs: (name, seq, value), framed so that fields cannot run into each other. */
export function signedMessage(name: string, seq: number, value: Uint8Array): Uint8Array {
  return encode(['selfmesh/signed/1', name, seq, value]);
}

export function makeImmutable(value: Uint8Array): ImmutableRecord {
  return { kind: 'immutable', key: immutableKey(value), value };
}

export function makeSigned(identity: Identity, name: string, seq: number, value: Uint8Array): SignedRecord {
  return {
    kind: 'signed', key: signedKey(identity.publicKey, name), publicKey: identity.publicKey, name, seq, value,
    signature: identity.sign(signedMessage(name, seq, value)),
  };
}

export function makeVersioned(key: Id, version: Version, value: Uint8Array | null): VersionedRecord {
  return { kind: 'versioned', key, counter: version.counter, writer: version.writer, value };
}

/** Key for an application name (open records), so that apps need not hash names themselves. */
export function keyFor(name: string): Id {
  return hashId(`selfmesh/key/${name}`);
}

// ---- validation ----

export interface RecordLimits {
  maxValueBytes: number;
  maxNameBytes: number;
}

/**
 * Throws a SelfmeshError (TOO_LARGE, BAD_MESSAGE, BAD_SIGNATURE) for a record no one should store. A
 * signed record's signature is checked natively where the platform can (3.3 ms in JavaScript, a quarter
 * millisecond natively, on every holder and reader): then a promise gives the outcome.
 */
export function validateRecord(rec: DataRecord, scheme: SignatureScheme, limits: RecordLimits): void | Promise<void> {
  const size = rec.value?.length ?? 0;
  if (size > limits.maxValueBytes) {
    throw new SelfmeshError('TOO_LARGE', `value of ${size} bytes exceeds the limit of ${limits.maxValueBytes}`);
  }
  switch (rec.kind) {
    case 'immutable':
      if (immutableKey(rec.value) !== rec.key) throw new SelfmeshError('BAD_MESSAGE', 'immutable key is not SHA-256 of the value');
      return;
    case 'signed': {
      if (utf8ToBytes(rec.name).length > limits.maxNameBytes) {
        throw new SelfmeshError('TOO_LARGE', `name exceeds ${limits.maxNameBytes} bytes`);
      }
      if (signedKey(rec.publicKey, rec.name) !== rec.key) {
        throw new SelfmeshError('BAD_MESSAGE', 'signed key is not SHA-256(publicKey || name)');
      }
      const signed = checkSignature(scheme, rec.publicKey, signedMessage(rec.name, rec.seq, rec.value), rec.signature);
      return typeof signed === 'boolean' ? signatureOutcome(signed, rec) : signed.then((ok) => signatureOutcome(ok, rec));
    }
    case 'versioned':
      return;
  }
}

function signatureOutcome(ok: boolean, rec: SignedRecord): void {
  if (!ok) throw new SelfmeshError('BAD_SIGNATURE', `bad signature on ${rec.name}#${rec.seq}`);
}

/** Copies byte fields: decoded messages hand out views into a larger buffer that must not be retained. */
export function detach<T extends DataRecord>(rec: T): T {
  const out = { ...rec };
  if (out.value) out.value = out.value.slice();
  if (out.kind === 'signed') {
    out.publicKey = out.publicKey.slice();
    out.signature = out.signature.slice();
  }
  return out;
}
