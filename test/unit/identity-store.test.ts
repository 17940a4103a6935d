import { describe, expect, it } from 'vitest';
import { IDENTITY_KEY, loadOrCreateIdentity } from '../../src/app/identity-store.ts';
import { ed25519Scheme } from '../../src/core/identity.ts';
import { seededRng } from '../../src/core/rng.ts';

function memoryStorage(initial: Record<string, string> = {}) {
  const map = new Map(Object.entries(initial));
  return {
    getItem: (k: string) => map.get(k) ?? null,
    setItem: (k: string, v: string) => void map.set(k, v),
    map,
  };
}

describe('identity store', () => {
  it('keeps the identity across loads (a tab reload) and makes a new one for new storage (a new tab)', () => {
    const storage = memoryStorage();
    const first = loadOrCreateIdentity(storage, seededRng(1));
    const again = loadOrCreateIdentity(storage, seededRng(2));
    expect(again.id).toBe(first.id);
    expect(ed25519Scheme.idOf(again.publicKey)).toBe(again.id);
    expect(loadOrCreateIdentity(memoryStorage(), seededRng(2)).id).not.toBe(first.id);
  });

  it('replaces unreadable stored data instead of trusting it', () => {
    for (const junk of ['not json', '{"secretKey":"zz"}', '{}', '[]']) {
      const storage = memoryStorage({ [IDENTITY_KEY]: junk });
      const identity = loadOrCreateIdentity(storage, seededRng(3));
      expect(identity.id).toMatch(/^[0-9a-f]{64}$/);
      expect(storage.map.get(IDENTITY_KEY)).not.toBe(junk);
    }
  });

  it('works when storage refuses writes', () => {
    const storage = {
      getItem: () => null,
      setItem: () => {
        throw new Error('quota');
      },
    };
    expect(loadOrCreateIdentity(storage, seededRng(4)).id).toMatch(/^[0-9a-f]{64}$/);
  });
});
