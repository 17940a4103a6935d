// IndexedDB replica store through idb-keyval: one database per node id, so that a tab that comes back
// (same id) finds its records and a tab that opens later can find the databases of tabs that are gone.
import { createStore, del, entries, get, set, type UseStore } from 'idb-keyval';
import { SelfmeshError, errorMessage } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { StoredRecord } from './records.ts';
import type { ReplicaStore } from './replica-store.ts';

export const DB_PREFIX = 'selfmesh-';
export const STORE_NAME = 'records';

export function databaseName(nodeId: Id): string {
  return `${DB_PREFIX}${nodeId}`;
}

/** The node id of a selfmesh database name, or null for any other database. */
export function nodeIdOfDatabase(name: string): Id | null {
  const m = /^selfmesh-([0-9a-f]{64})$/.exec(name);
  return m ? m[1]! : null;
}

export interface IdbStoreOptions {
  /** Replaces idb-keyval's createStore (tests wrap it to simulate a full disk). */
  createStore?: (dbName: string, storeName: string) => UseStore;
}

function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === 'QuotaExceededError' || (e instanceof Error && /quota/i.test(e.message));
}

export class IdbStore implements ReplicaStore {
  readonly dbName: string;
  private readonly store: UseStore;
  private closed = false;

  constructor(nodeId: Id, options: IdbStoreOptions = {}) {
    this.dbName = databaseName(nodeId);
    this.store = (options.createStore ?? createStore)(this.dbName, STORE_NAME);
  }

  async get(key: Id): Promise<StoredRecord | undefined> {
    this.open();
    return get<StoredRecord>(key, this.store);
  }

  /** idb-keyval's set resolves on the transaction's complete event: the record is committed. */
  async put(record: StoredRecord): Promise<void> {
    this.open();
    try {
      await set(record.key, record, this.store);
    } catch (e) {
      if (isQuotaError(e)) throw new SelfmeshError('QUOTA', `storage is full: ${errorMessage(e)}`, { cause: e });
      throw new SelfmeshError('INTERNAL', `IndexedDB write failed: ${errorMessage(e)}`, { cause: e });
    }
  }

  async delete(key: Id): Promise<void> {
    this.open();
    await del(key, this.store);
  }

  async entries(): Promise<StoredRecord[]> {
    this.open();
    return (await entries<Id, StoredRecord>(this.store)).map(([, rec]) => rec);
  }

  /** Closes the connection so that the database can be deleted (a held connection blocks deletion). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.store('readonly', (s) => s.transaction.db.close());
  }

  private open(): void {
    if (this.closed) throw new SelfmeshError('CLOSED', `${this.dbName} is closed`);
  }
}
