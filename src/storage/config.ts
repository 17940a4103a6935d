// Storage configuration and its defaults (a room policy may change r, w and readQuorum).
import { DEFAULT_LIMITS, type Limits } from './limits.ts';

export interface StorageConfig extends Limits {
  /**
   * Replicas per key when churn is low, and the set that write and read quorums are taken from. Under
   * churn the replication policy (replication-policy.ts) keeps more copies, up to rMax.
   */
  r: number;
  /** The most replicas the churn policy may ask for; r or less keeps r fixed. */
  rMax: number;
  /** The policy's bound on expected losses per key per day (see replication-policy.ts). */
  lossPerKeyDay: number;
  /** Acknowledgements a write waits for. */
  w: number;
  /** Replies a read waits for; readQuorum + w > r makes a read see the latest acknowledged write. */
  readQuorum: number;
  /** Ranks beyond r that a node still accepts writes for while views of the neighbourhood differ. */
  slack: number;
  /** Timeout of one storage request to one node. */
  requestTimeoutMs: number;
  /** Period of anti-entropy rounds (one neighbour per round); 0 turns them off. */
  antiEntropyMs: number;
  /** Period at which handoffs that were not yet confirmed are retried; 0 turns the retry off. */
  retryMs: number;
  /** How long a node that said "want" to an offer waits for that push before accepting another offer. */
  pendingMs: number;
  /**
   * The holder next after the first pusher offers a key to a new holder this much later (a backup for a
   * pusher that died silently); 0 leaves it to the first pusher alone.
   */
  backupOfferMs: number;
  /**
   * After a write is acknowledged, each holder that failed it (unreachable, or silent until the timeout:
   * perhaps a crash nobody has noticed yet) is covered by the next spare, which the writer gives the
   * record to (see Quorum.cover); false leaves such a holder to handoff and anti-entropy.
   */
  coverFailedWrites: boolean;
  /**
   * A leaving node offers a key to the next spare in place of each holder that has not answered its
   * handover offer this long after the leave began (see Handoff.handOver).
   */
  leaveCoverMs: number;
  /** Record bytes per push message. */
  transferBatchBytes: number;
  /** A put that lost a race (STALE) re-reads and retries this many times. */
  putRetries: number;
  /**
   * How long a node keeps a tombstone before it may collect it (once every holder confirmed it holds
   * it); 0 keeps tombstones for good. A replica that was away longer than this with an older value can
   * bring that value back, so keep it well above how long a node may be away with its records.
   */
  tombstoneTtlMs: number;
}

export const DEFAULT_CONFIG: StorageConfig = {
  ...DEFAULT_LIMITS,
  r: 3,
  rMax: 4,
  lossPerKeyDay: 2e-3,
  w: 2,
  readQuorum: 2,
  slack: 2,
  requestTimeoutMs: 5_000,
  antiEntropyMs: 30_000,
  retryMs: 5_000,
  pendingMs: 5_000,
  backupOfferMs: 2_000,
  coverFailedWrites: true,
  leaveCoverMs: 400,
  transferBatchBytes: 256 * 1024,
  putRetries: 3,
  tombstoneTtlMs: 7 * 24 * 3_600_000,
};

export function resolveConfig(partial: Partial<StorageConfig> = {}): StorageConfig {
  const c = { ...DEFAULT_CONFIG, ...partial };
  const int = (x: number) => Number.isInteger(x) && x >= 1;
  if (!int(c.r) || !int(c.w) || !int(c.readQuorum)) throw new RangeError('r, w and readQuorum must be integers >= 1');
  if (c.w > c.r || c.readQuorum > c.r) throw new RangeError(`w (${c.w}) and readQuorum (${c.readQuorum}) must not exceed r (${c.r})`);
  if (c.w + c.readQuorum <= c.r) {
    throw new RangeError(`readQuorum + w must exceed r (got ${c.readQuorum} + ${c.w} <= ${c.r}): reads could miss writes`);
  }
  if (!Number.isInteger(c.rMax) || c.rMax < 0) throw new RangeError('rMax must be an integer >= 0');
  if (!(c.lossPerKeyDay > 0)) throw new RangeError('lossPerKeyDay must be > 0');
  if (c.slack < 0 || !Number.isInteger(c.slack)) throw new RangeError('slack must be an integer >= 0');
  if (!(c.tombstoneTtlMs >= 0)) throw new RangeError('tombstoneTtlMs must be >= 0');
  return c;
}
