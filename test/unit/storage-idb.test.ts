import { createStore, type UseStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { isSelfmeshError } from '../../src/core/errors.ts';
import { createSimIdentity } from '../../src/core/identity.ts';
import { seededRng } from '../../src/core/rng.ts';
import { IdbStore, databaseName, nodeIdOfDatabase } from '../../src/storage/idb-store.ts';
import { MemoryStore } from '../../src/storage/memory-store.ts';
import { keyFor, makeSigned, makeVersioned, type StoredRecord } from '../../src/storage/records.ts';
import { Cluster } from './helpers/ideal-overlay.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const rng = seededRng(3);

/** idb-keyval's store, with every write failing as on a full disk. */
function fullDisk(dbName: string, storeName: string): UseStore {
  const real = createStore(dbName, storeName);
  return (mode, cb) =>
    mode === 'readwrite' ? Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError')) : real(mode, cb);
}

describe('IndexedDB replica store', () => {
  it('names one database per node id', () => {
    const id = createSimIdentity(rng).id;
    expect(databaseName(id)).toBe(`selfmesh-${id}`);
    expect(nodeIdOfDatabase(databaseName(id))).toBe(id);
    expect(nodeIdOfDatabase('keyval-store')).toBeNull();
  });

  it('keeps records across close and reopen, byte values intact', async () => {
    const me = createSimIdentity(rng);
    const a = new IdbStore(me.id);
    const v: StoredRecord = { ...makeVersioned(keyFor('x'), { counter: 4, writer: me.id }, bytes('hello')), owner: me.id };
    const s: StoredRecord = { ...makeSigned(me, 'n', 2, bytes('signed')), owner: me.id };
    await a.put(v);
    await a.put(s);
    await a.put({ ...makeVersioned(keyFor('gone'), { counter: 1, writer: me.id }, null), owner: me.id });
    await a.delete(keyFor('gone'));
    await a.close();
    const b = new IdbStore(me.id);
    expect(await b.get(keyFor('x'))).toEqual(v);
    expect((await b.get(s.key))?.value).toBeInstanceOf(Uint8Array);
    expect((await b.entries()).map((r) => r.key).sort()).toEqual([keyFor('x'), s.key].sort());
    await b.close();
  });

  it('maps QuotaExceededError to QUOTA', async () => {
    const me = createSimIdentity(rng);
    const store = new IdbStore(me.id, { createStore: fullDisk });
    const err = await store
      .put({ ...makeVersioned(keyFor('x'), { counter: 1, writer: me.id }, bytes('v')), owner: me.id })
      .catch((e: unknown) => e);
    expect(isSelfmeshError(err, 'QUOTA')).toBe(true);
    expect(await store.get(keyFor('x'))).toBeUndefined();
  });

  it('a node with a full disk refuses writes with QUOTA and keeps serving reads', async () => {
    const c = new Cluster();
    for (let i = 0; i < 6; i++) await c.add({ identity: createSimIdentity(rng), store: new MemoryStore(1_000) });
    await c.settle();
    const key = keyFor('full');
    await c.any().storage.put(key, bytes('before'));
    await c.settle();
    const writer = c.outsider(key, 3);
    const err = await writer.storage.put(key, new Uint8Array(950)).catch((e: unknown) => e);
    expect(isSelfmeshError(err, 'QUOTA')).toBe(true);
    expect(err instanceof Error && err.message).toMatch(/full/);
    expect(new TextDecoder().decode((await writer.storage.get(key))!)).toBe('before');
    await expect(writer.storage.put(key, bytes('small'))).resolves.toMatchObject({ counter: 2 });
  });

  it('Storage on IndexedDB acknowledges after commit and reopens with its records', async () => {
    const c = new Cluster();
    const ids = [createSimIdentity(rng), createSimIdentity(rng), createSimIdentity(rng), createSimIdentity(rng)];
    for (const identity of ids) await c.add({ identity, store: new IdbStore(identity.id) });
    await c.settle();
    const key = keyFor('durable');
    await c.any().storage.put(key, bytes('kept'));
    await c.settle();
    const holder = c.closest(key, 1)[0]!;
    const gone = c.kill(holder);
    await gone.store.close();
    const back = await c.add({ identity: gone.identity, store: new IdbStore(holder) });
    expect(back.storage.holds(key)).toBe(true);
    expect(new TextDecoder().decode((await back.storage.local(key))!.value!)).toBe('kept');
    await c.settle();
  });
});
