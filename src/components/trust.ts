// The room's trust policy, and the checks that every piece of code passes before it is imported:
// its hash, its signature, a trusted publisher, and a version that goes forward (or a named rollback).
import { SelfmeshError } from '../core/errors.ts';
import type { SignatureScheme } from '../core/identity.ts';
import { codeHashOf, parseManifest, verifyManifestSignature, type Manifest } from './manifest.ts';
import { compareVersions } from './semver.ts';

export interface TrustPolicy {
  /** Public keys (lowercase hex) of the publishers whose code this room runs. */
  trustedPublishers: string[];
}

export interface VersionIntent {
  /** The version running now, if any: a new one must be above it... */
  current?: string;
  /** ...unless this names exactly the version being loaded (a rollback asked for by name). */
  rollbackTo?: string;
}

export function isTrusted(policy: TrustPolicy, publisher: string): boolean {
  return policy.trustedPublishers.some((k) => k.toLowerCase() === publisher.toLowerCase());
}

/**
 * Throws a SelfmeshError unless the code may run: BAD_SIGNATURE (unsigned, tampered, or a wrong
 * signature), UNTRUSTED (a publisher the room does not name), STALE (not newer, and no rollback to it).
 */
export function verifyComponent(
  policy: TrustPolicy,
  scheme: SignatureScheme,
  manifestValue: unknown,
  code: Uint8Array,
  intent: VersionIntent = {},
): Manifest {
  const manifest = parseManifest(manifestValue);
  const label = `${manifest.name}@${manifest.version}`;
  const actual = codeHashOf(code);
  if (actual !== manifest.codeHash)
    throw new SelfmeshError(
      'BAD_SIGNATURE',
      `${label}: code was tampered with (SHA-256 ${actual.slice(0, 12)}… ≠ manifest ${manifest.codeHash.slice(0, 12)}…)`,
    );
  if (!verifyManifestSignature(scheme, manifest))
    throw new SelfmeshError(
      'BAD_SIGNATURE',
      `${label}: the manifest signature does not verify for publisher ${manifest.publisher.slice(0, 12)}…`,
    );
  if (!isTrusted(policy, manifest.publisher))
    throw new SelfmeshError(
      'UNTRUSTED',
      `${label}: publisher ${manifest.publisher.slice(0, 12)}… is not trusted by this room`,
    );
  if (intent.current !== undefined && compareVersions(manifest.version, intent.current) <= 0) {
    if (intent.rollbackTo !== manifest.version)
      throw new SelfmeshError(
        'STALE',
        `${label}: not newer than the running ${intent.current}; a rollback must name this version`,
      );
  }
  return manifest;
}
