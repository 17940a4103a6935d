// Databases left by tabs that are gone. Every live tab holds the Web Lock `selfmesh-node-<id>` for its
// whole life; a database whose lock can be taken belongs to no live tab. Its records are put back into
// the room (each kept by r nodes again), and only then is the database deleted. The browser APIs are
// parameters so that this runs against fakes in tests.
import { errorMessage, isSelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import { databaseName, nodeIdOfDatabase } from './idb-store.ts';
import { contentOf, type DataRecord } from './records.ts';
import type { ReplicaStore } from './replica-store.ts';

/** The part of the Web Locks API (navigator.locks) used here. */
export interface LockManagerLike {
  request<T>(
    name: string,
    options: { ifAvailable?: boolean; mode?: 'exclusive' | 'shared' },
    callback: (lock: unknown) => Promise<T> | T,
  ): Promise<T>;
}

export interface OrphanEnv {
  selfId: Id;
  locks: LockManagerLike;
  /** indexedDB.databases() */
  listDatabases(): Promise<Array<{ name?: string }>>;
  /** Opens the replica store of another node id (an IdbStore in a tab). */
  openStore(nodeId: Id): ReplicaStore;
  /** indexedDB.deleteDatabase(name), resolved on success. */
  deleteDatabase(name: string): Promise<void>;
  /** Puts one record back into the room; resolves once a write quorum holds it (Storage.republish). */
  republish(record: DataRecord): Promise<void>;
}

export interface OrphanReport {
  /** Databases of gone tabs that were emptied and deleted. */
  recovered: Id[];
  /** Databases of gone tabs kept for a later attempt (some record could not be put back). */
  kept: Id[];
  records: number;
  errors: string[];
}

const UNRECOVERABLE = ['BAD_SIGNATURE', 'BAD_MESSAGE', 'TOO_LARGE', 'CONFLICT'] as const;

export function nodeLockName(nodeId: Id): string {
  return `selfmesh-node-${nodeId}`;
}

/**
 * Holds this tab's lock until release() (or until the tab goes away, when the browser frees it).
 * Resolves once the lock is held; rejects if another live tab holds it (the id is in use).
 */
export function holdNodeLock(locks: LockManagerLike, nodeId: Id): Promise<{ release(): void }> {
  return new Promise((resolve, reject) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    locks
      .request(nodeLockName(nodeId), { ifAvailable: true }, (lock) => {
        if (!lock) {
          reject(new Error(`node ${nodeId.slice(0, 8)} is already live in another tab`));
          return undefined;
        }
        resolve({ release });
        return held;
      })
      .catch(reject);
  });
}

/** Finds the databases of gone tabs, puts their records back into the room, then deletes them. */
export async function recoverOrphans(env: OrphanEnv): Promise<OrphanReport> {
  const report: OrphanReport = { recovered: [], kept: [], records: 0, errors: [] };
  const ids = (await env.listDatabases())
    .map((d) => (d.name ? nodeIdOfDatabase(d.name) : null))
    .filter((id): id is Id => id !== null && id !== env.selfId);
  for (const id of ids) {
    // Holding the gone tab's lock while we work keeps a reloaded tab with that id from reopening it.
    await env.locks.request(nodeLockName(id), { ifAvailable: true }, async (lock) => {
      if (!lock) return; // a live tab: not an orphan
      const store = env.openStore(id);
      let failed = 0;
      try {
        for (const rec of await store.entries()) {
          try {
            await env.republish(contentOf(rec));
            report.records++;
          } catch (e) {
            // A record no one would accept (forged, oversize) is dropped with the database.
            if (!UNRECOVERABLE.some((c) => isSelfmeshError(e, c))) failed++;
            report.errors.push(`${id.slice(0, 8)}/${rec.key.slice(0, 8)}: ${errorMessage(e)}`);
          }
        }
      } finally {
        await store.close();
      }
      if (failed > 0) {
        report.kept.push(id);
        return;
      }
      await env.deleteDatabase(databaseName(id));
      report.recovered.push(id);
    });
  }
  return report;
}
