// Compare-and-set on an open record. Racing writers are serialized by one coordinator per key, the
// closest holder (the primary): it reads the latest version with a read quorum, compares, and writes the
// next version with a write quorum, one request at a time per key. So of several writers that expect the
// same version exactly one wins, and a loser's value is never written anywhere. (If two nodes both
// believe they are the primary during churn, this weakens to LWW; transactions in src/tx are stronger.)
import { SelfmeshError, isSelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import { type StorageContext, callPeer } from './context.ts';
import { CasReply, M } from './messages.ts';
import type { Quorum } from './quorum.ts';
import { makeVersioned, nextVersion, sameVersion, versionOf, type Version } from './records.ts';
import { chain } from './replica.ts';

export interface CasResult {
  /** Whether this writer's value was written. */
  ok: boolean;
  /** On success the new version; otherwise the current one (null: no record). */
  version: Version | null;
  /** On success the written value; otherwise the current one (null: absent or deleted). */
  value: Uint8Array | null;
}

const TRANSIENT = ['UNREACHABLE', 'TIMEOUT', 'CLOSED', 'NOT_RESPONSIBLE'] as const;

export class Cas {
  private readonly locks = new Map<Id, Promise<unknown>>();

  constructor(
    private readonly ctx: StorageContext,
    private readonly quorum: Quorum,
  ) {}

  /** Client side: asks the primary; if it cannot be reached, the next holder (the primary to be). */
  async cas(key: Id, expected: Version | null, value: Uint8Array): Promise<CasResult> {
    if (value.length > this.ctx.config.maxValueBytes) {
      throw new SelfmeshError('TOO_LARGE', `value of ${value.length} bytes exceeds the limit of ${this.ctx.config.maxValueBytes}`);
    }
    const holders = await this.ctx.placement.holders(key);
    let last: unknown = new SelfmeshError('UNREACHABLE', `no holder of ${key.slice(0, 8)} found`);
    for (const node of holders) {
      try {
        if (node === this.ctx.selfId) return await this.coordinate(key, expected, value, this.ctx.selfId);
        return await callPeer(this.ctx, node, M.cas, { key, expected, value }, CasReply);
      } catch (e) {
        if (!TRANSIENT.some((c) => isSelfmeshError(e, c))) throw e;
        last = e;
      }
    }
    throw last;
  }

  /** Primary side: one compare-and-set per key at a time. `writer` is the node that asked. */
  coordinate(key: Id, expected: Version | null, value: Uint8Array, writer: Id): Promise<CasResult> {
    return chain(this.locks, key, async () => {
      const { record } = await this.quorum.read(key);
      if (record && record.kind !== 'versioned') {
        throw new SelfmeshError('CONFLICT', `key ${key.slice(0, 8)} holds a ${record.kind} record`);
      }
      const current = record ? versionOf(record) : null;
      const live = record !== null && record.value !== null;
      const matches = expected === null ? !live : sameVersion(current, expected);
      if (!matches) {
        this.ctx.counters.inc('storage.cas.lost');
        return { ok: false, version: current, value: live ? record!.value : null };
      }
      const next = nextVersion(current, writer, this.ctx.clock.now());
      try {
        await this.quorum.write(makeVersioned(key, next, value), writer);
      } catch (e) {
        // A plain put raced past us: the expected version is gone, so this writer lost.
        if (!isSelfmeshError(e, 'STALE')) throw e;
        const now = (await this.quorum.read(key)).record;
        return { ok: false, version: now ? versionOf(now) : null, value: now?.value ?? null };
      }
      return { ok: true, version: next, value };
    });
  }
}
