// Replay protection for signed messages that carry a time (signals, routed calls): each is accepted once
// within the window in which its time is acceptable at all.
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import { DEFAULT_MAX_SKEW_MS } from './signal-envelope.ts';

const PRUNE_EVERY_MS = 1_000;

/**
 * Remembers (from, kind, token) for as long as a message with that time could still pass the time
 * window, and refuses a second sight. Memory is bounded by the window and `maxEntries`. Call it only
 * after the signature is checked, so that a forger cannot fill it.
 */
export class ReplayGuard {
  private seen = new Map<string, number>();
  /** When expired entries were last dropped: a scan of every entry per check was quadratic in the window. */
  private prunedAt = -Infinity;

  constructor(
    private readonly maxSkewMs = DEFAULT_MAX_SKEW_MS,
    private readonly maxEntries = 10_000,
    /** What is guarded, for the errors: signals, or routed calls. */
    private readonly what = 'signal',
  ) {}

  /** Throws REFUSED on a replay (QUOTA when full); otherwise records the message. */
  check(env: { from: Id; kind: string; token: string; time: number }, now: number): void {
    this.prune(now);
    const key = `${env.from}/${env.kind}/${env.token}`;
    // Reading a char makes V8 flatten the concatenation now, so the table keeps one flat string per
    // entry rather than a tree of its parts.
    key.charCodeAt(0);
    // An entry past its window that the last prune left is not a replay (as if it had been dropped).
    const expires = this.seen.get(key);
    if (expires !== undefined && expires >= now)
      throw new SelfmeshError('REFUSED', `refused ${this.what}: replayed ${env.kind} token ${env.token}`);
    if (this.seen.size >= this.maxEntries) {
      throw new SelfmeshError('QUOTA', `refused ${this.what}: too many in the replay window`);
    }
    this.seen.set(key, env.time + this.maxSkewMs);
  }

  get size(): number {
    return this.seen.size;
  }

  /** At most once a second (an entry outlives its window by at most that), or when the table is full. */
  private prune(now: number): void {
    if (now - this.prunedAt < PRUNE_EVERY_MS && this.seen.size < this.maxEntries) return;
    this.prunedAt = now;
    for (const [key, expires] of this.seen) if (expires < now) this.seen.delete(key);
  }
}
