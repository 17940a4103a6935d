// A tab's node identity lives in sessionStorage: a reload keeps it, a new tab gets a new one
// (sessionStorage is per tab). Anything unreadable in storage is replaced, never trusted.
import { createIdentity, exportIdentity, importIdentity, type Identity } from '../core/identity.ts';
import type { Rng } from '../core/rng.ts';

export const IDENTITY_KEY = 'selfmesh.identity.v1';

/** The storage calls we use (sessionStorage, or a Map-backed stand-in in tests). */
export type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem'>;

export function loadOrCreateIdentity(storage: KeyValueStorage, rng: Rng, puzzleBits = 0): Identity {
  const stored = readStored(storage);
  if (stored) return stored;
  const identity = createIdentity(rng, puzzleBits);
  try {
    storage.setItem(IDENTITY_KEY, JSON.stringify(exportIdentity(identity)));
  } catch {
    // Storage full or disabled: the identity still works for this page's lifetime.
  }
  return identity;
}

function readStored(storage: KeyValueStorage): Identity | null {
  try {
    const raw = storage.getItem(IDENTITY_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as { secretKey?: unknown };
    if (typeof parsed.secretKey !== 'string' || !/^[0-9a-f]{64}$/.test(parsed.secretKey)) return null;
    return importIdentity({ secretKey: parsed.secretKey });
  } catch {
    return null;
  }
}
