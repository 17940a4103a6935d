// A component's manifest: what the code is, its SHA-256, who published it, and the publisher's signature.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import * as v from 'valibot';
import { SelfmeshError } from '../core/errors.ts';
import type { Identity, SignatureScheme } from '../core/identity.ts';
import { isVersion } from './semver.ts';

export interface ManifestFields {
  name: string;
  version: string;
  provides: string[];
  requires: string[];
  stateVersion: number;
}

export interface Manifest extends ManifestFields {
  /** SHA-256 of the code bytes, lowercase hex. */
  codeHash: string;
  /** Publisher's public key, lowercase hex. */
  publisher: string;
  /** Signature over manifestSigningBytes(), lowercase hex. */
  signature: string;
}

const HEX = /^[0-9a-f]*$/;
const IFACE = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9._-]{0,63}$/));

export const manifestSchema = v.object({
  name: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9._-]{0,63}$/)),
  version: v.pipe(
    v.string(),
    v.check((s: string) => isVersion(s), 'not a semver version'),
  ),
  provides: v.pipe(v.array(IFACE), v.maxLength(32)),
  requires: v.pipe(v.array(IFACE), v.maxLength(32)),
  stateVersion: v.pipe(v.number(), v.integer(), v.minValue(0)),
  codeHash: v.pipe(v.string(), v.length(64), v.regex(HEX)),
  publisher: v.pipe(v.string(), v.maxLength(256), v.regex(HEX)),
  signature: v.pipe(v.string(), v.maxLength(1024), v.regex(HEX)),
});

export function codeHashOf(code: Uint8Array): string {
  return bytesToHex(sha256(code));
}

/** The exact bytes signed: a tagged JSON array with a fixed field order (no key-order ambiguity). */
export function manifestSigningBytes(m: Omit<Manifest, 'signature'>): Uint8Array {
  return utf8ToBytes(
    JSON.stringify([
      'selfmesh-component-manifest/1',
      m.name,
      m.version,
      m.provides,
      m.requires,
      m.stateVersion,
      m.codeHash,
      m.publisher,
    ]),
  );
}

export function signManifest(identity: Identity, fields: ManifestFields, code: Uint8Array): Manifest {
  const unsigned = {
    name: fields.name,
    version: fields.version,
    provides: [...fields.provides],
    requires: [...fields.requires],
    stateVersion: fields.stateVersion,
    codeHash: codeHashOf(code),
    publisher: bytesToHex(identity.publicKey),
  };
  return { ...unsigned, signature: bytesToHex(identity.sign(manifestSigningBytes(unsigned))) };
}

/** Checks the shape of a manifest that came from the network; a missing signature counts as unsigned. */
export function parseManifest(value: unknown): Manifest {
  if (value && typeof value === 'object' && !(value as { signature?: unknown }).signature)
    throw new SelfmeshError('BAD_SIGNATURE', 'manifest is unsigned');
  const r = v.safeParse(manifestSchema, value);
  if (!r.success) {
    const issue = r.issues[0];
    const path = issue?.path?.map((p) => String(p.key)).join('.') ?? '';
    throw new SelfmeshError(
      'BAD_MESSAGE',
      `bad manifest: ${path ? path + ': ' : ''}${issue?.message ?? 'invalid'}`,
    );
  }
  return r.output;
}

export function verifyManifestSignature(scheme: SignatureScheme, m: Manifest): boolean {
  try {
    return scheme.verify(hexToBytes(m.publisher), manifestSigningBytes(m), hexToBytes(m.signature));
  } catch {
    return false;
  }
}
