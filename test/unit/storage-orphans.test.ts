import { describe, expect, it } from 'vitest';
import { createSimIdentity } from '../../src/core/identity.ts';
import { seededRng } from '../../src/core/rng.ts';
import { IdbStore, databaseName } from '../../src/storage/idb-store.ts';
import { type LockManagerLike, holdNodeLock, nodeLockName, recoverOrphans } from '../../src/storage/orphans.ts';
import { keyFor, makeImmutable, makeSigned, makeVersioned } from '../../src/storage/records.ts';
import { Cluster } from './helpers/ideal-overlay.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);
const rng = seededRng(11);

/** Web Locks with exclusive locks and ifAvailable, as the browser has them. */
class FakeLocks implements LockManagerLike {
  readonly held = new Set<string>();
  async request<T>(name: string, options: { ifAvailable?: boolean }, cb: (lock: unknown) => Promise<T> | T): Promise<T> {
    if (this.held.has(name)) {
      if (options.ifAvailable) return cb(null);
      throw new Error('this fake does not queue');
    }
    this.held.add(name);
    try {
      return await cb({ name });
    } finally {
      this.held.delete(name);
    }
  }
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
  });
}

async function dbNames(): Promise<string[]> {
  return (await indexedDB.databases()).map((d) => d.name ?? '');
}

describe('orphaned databases of gone tabs', () => {
  it('holds the node lock for the life of the tab and refuses a second holder', async () => {
    const locks = new FakeLocks();
    const id = createSimIdentity(rng).id;
    const mine = await holdNodeLock(locks, id);
    expect(locks.held.has(nodeLockName(id))).toBe(true);
    await expect(holdNodeLock(locks, id)).rejects.toThrow(/already live/);
    mine.release();
    await expect.poll(() => locks.held.has(nodeLockName(id))).toBe(false);
  });

  it('puts the records of gone tabs back into the room, then deletes their databases', async () => {
    const c = await Cluster.create(8);
    const me = c.any();
    const locks = new FakeLocks();
    const gone = createSimIdentity(rng);
    const live = createSimIdentity(rng);
    // A tab that is gone left records in its database.
    const old = new IdbStore(gone.id);
    const open = makeVersioned(keyFor('cart'), { counter: 3, writer: gone.id }, bytes('3 books'));
    const signed = makeSigned(gone, 'profile', 7, bytes('me'));
    const imm = makeImmutable(bytes('code'));
    const forged = { ...makeSigned(gone, 'bad', 1, bytes('x')), value: bytes('y') };
    for (const rec of [open, signed, imm, forged]) await old.put({ ...rec, owner: gone.id });
    await old.close();
    // A live tab (holding its lock) also has a database: it must not be touched.
    const liveStore = new IdbStore(live.id);
    await liveStore.put({ ...makeImmutable(bytes('live')), owner: live.id });
    const liveLock = await holdNodeLock(locks, live.id);

    const report = await recoverOrphans({
      selfId: me.id, locks, listDatabases: () => indexedDB.databases(),
      openStore: (id) => new IdbStore(id), deleteDatabase, republish: (rec) => me.storage.republish(rec),
    });
    expect(report.recovered).toEqual([gone.id]);
    expect(report.kept).toEqual([]);
    expect(report.records).toBe(3);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatch(/signature/);

    const names = await dbNames();
    expect(names).not.toContain(databaseName(gone.id));
    expect(names).toContain(databaseName(live.id));
    expect(await liveStore.entries()).toHaveLength(1);

    await c.settle();
    const reader = c.outsider(open.key, 3);
    expect(text(await reader.storage.get(open.key))).toBe('3 books');
    expect((await reader.storage.getEntry(open.key))?.version).toEqual({ counter: 3, writer: gone.id });
    expect(await reader.storage.getSigned(gone.publicKey, 'profile')).toMatchObject({ seq: 7 });
    expect(text(await reader.storage.get(imm.key))).toBe('code');
    for (const key of [open.key, signed.key, imm.key]) expect(c.holdersOf(key).sort()).toEqual(c.closest(key, 3).sort());
    expect(c.holdersOf(forged.key)).toEqual([]);
    liveLock.release();
    await liveStore.close();
  });

  it('does not put back a record older than what the room holds, and keeps a database it could not empty', async () => {
    const c = await Cluster.create(6);
    const me = c.any();
    const key = keyFor('newer');
    await me.storage.put(key, bytes('v1'));
    await me.storage.put(key, bytes('v2'));
    const gone = createSimIdentity(rng);
    const old = new IdbStore(gone.id);
    await old.put({ ...makeVersioned(key, { counter: 1, writer: gone.id }, bytes('stale')), owner: gone.id });
    await old.close();
    const report = await recoverOrphans({
      selfId: me.id, locks: new FakeLocks(), listDatabases: () => indexedDB.databases(),
      openStore: (id) => new IdbStore(id), deleteDatabase, republish: (rec) => me.storage.republish(rec),
    });
    // (Databases left by the previous test's tabs, whose locks are now free, are recovered too.)
    expect(report.recovered).toContain(gone.id);
    expect(text(await me.storage.get(key))).toBe('v2');

    // When the room cannot take a record (unreachable), the database stays for a later try.
    const again = createSimIdentity(rng);
    const kept = new IdbStore(again.id);
    await kept.put({ ...makeImmutable(bytes('later')), owner: again.id });
    await kept.close();
    c.net.filter = () => false;
    const report2 = await recoverOrphans({
      selfId: me.id, locks: new FakeLocks(), listDatabases: () => indexedDB.databases(),
      openStore: (id) => new IdbStore(id), deleteDatabase,
      republish: (rec) => me.storage.republish(rec),
    });
    c.net.filter = () => true;
    expect(report2.kept).toContain(again.id);
    expect(await dbNames()).toContain(databaseName(again.id));
  });
});
