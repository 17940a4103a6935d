// In-memory replica store for the simulator and tests; an optional capacity simulates a full disk.
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import { recordBytes, type StoredRecord } from './records.ts';
import type { ReplicaStore } from './replica-store.ts';

export class MemoryStore implements ReplicaStore {
  private readonly records = new Map<Id, StoredRecord>();
  private bytes = 0;

  constructor(private readonly capacityBytes = Infinity) {}

  async get(key: Id): Promise<StoredRecord | undefined> {
    const rec = this.records.get(key);
    return rec && { ...rec };
  }

  async put(record: StoredRecord): Promise<void> {
    const old = this.records.get(record.key);
    const next = this.bytes - (old ? recordBytes(old) : 0) + recordBytes(record);
    if (next > this.capacityBytes) {
      throw new SelfmeshError('QUOTA', `local store is full (${this.capacityBytes} bytes)`);
    }
    // A shallow copy is enough: records are never mutated in place once stored.
    this.records.set(record.key, { ...record });
    this.bytes = next;
  }

  async delete(key: Id): Promise<void> {
    const old = this.records.get(key);
    if (!old) return;
    this.records.delete(key);
    this.bytes -= recordBytes(old);
  }

  async entries(): Promise<StoredRecord[]> {
    return [...this.records.values()].map((r) => ({ ...r }));
  }

  async close(): Promise<void> {}

  get size(): number {
    return this.records.size;
  }
}
