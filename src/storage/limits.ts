// What one writer may make a replica store, and how large a value may be. Refusals are clear errors.
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { RecordLimits } from './records.ts';

export interface Limits extends RecordLimits {
  /** Bytes one writer (the node that asked for the write) may have stored on one replica. */
  writerQuotaBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxValueBytes: 512 * 1024,
  maxNameBytes: 256,
  writerQuotaBytes: 32 * 1024 * 1024,
};

/** Bytes held per owner on this replica. */
export class QuotaLedger {
  private readonly byOwner = new Map<Id, number>();

  constructor(private readonly quotaBytes: number) {}

  add(owner: Id, bytes: number): void {
    const next = (this.byOwner.get(owner) ?? 0) + bytes;
    if (next <= 0) this.byOwner.delete(owner);
    else this.byOwner.set(owner, next);
  }

  used(owner: Id): number {
    return this.byOwner.get(owner) ?? 0;
  }

  /** Throws QUOTA if owner would hold more than the quota after adding `delta` bytes. */
  check(owner: Id, delta: number): void {
    const after = this.used(owner) + delta;
    if (delta > 0 && after > this.quotaBytes) {
      throw new SelfmeshError(
        'QUOTA',
        `writer ${owner.slice(0, 8)} would store ${after} bytes here; the quota is ${this.quotaBytes}`,
      );
    }
  }
}
