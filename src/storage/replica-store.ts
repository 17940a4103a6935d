// The local store of replicas. put resolves only once the record is durable (IndexedDB: the transaction
// committed), because a replica acknowledges a write only after that. A full disk rejects with QUOTA.
import type { Id } from '../core/id.ts';
import type { StoredRecord } from './records.ts';

export interface ReplicaStore {
  get(key: Id): Promise<StoredRecord | undefined>;
  /** Resolves after the record is durable; rejects with SelfmeshError('QUOTA') when storage is full. */
  put(record: StoredRecord): Promise<void>;
  delete(key: Id): Promise<void>;
  /** Every record (read once at start to build the in-memory index). */
  entries(): Promise<StoredRecord[]>;
  close(): Promise<void>;
}
