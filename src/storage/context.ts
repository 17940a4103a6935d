// What the parts of the storage layer share: config, placement, the local replica, calls to peers with
// checked replies, background-task tracking, counters and events.
import * as v from 'valibot';
import type { Clock } from '../core/clock.ts';
import type { Counters } from '../core/counters.ts';
import type { Emitter } from '../core/emitter.ts';
import { SelfmeshError, errorMessage } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { Rng } from '../core/rng.ts';
import type { StorageConfig } from './config.ts';
import type { OverlayPort } from './overlay-port.ts';
import type { Placement } from './placement.ts';
import type { LocalReplica } from './replica.ts';
import type { ReplicationPolicy } from './replication-policy.ts';

export interface StorageEvents {
  /** A record was stored or replaced here. */
  stored: { key: Id; from: Id };
  /** A record left this node after its holders confirmed it. */
  dropped: { key: Id };
  /** Records were sent to another node to restore replication (handoff, repair, anti-entropy, read repair). */
  moved: { to: Id; records: number; bytes: number; reason: MoveReason; keys?: Id[] };
  /** Records were pulled from a peer by anti-entropy and stored here (the puller counts these bytes). */
  fetched: { from: Id; records: number; bytes: number; keys: Id[] };
  /** A request from a peer was refused. */
  refused: { from: Id; method: string; code: string; reason: string };
}

export type MoveReason = 'handoff' | 'leave' | 'anti-entropy' | 'kept' | 'read-repair' | 'republish';

/** Numbers for stats and benchmarks; only ever increased. */
export interface StorageMeters {
  writesAcked: number;
  readsServed: number;
  recordsMoved: number;
  /** Record bytes sent to restore replication after churn (handoff, repair, anti-entropy). */
  repairBytes: number;
  /** Record bytes sent by read repair. */
  readRepairBytes: number;
  /** Bytes of offers and summaries (the cost of finding out what to move). */
  controlBytes: number;
  dropped: number;
  refused: number;
  /** Tombstones collected here (see gc.ts). */
  tombstonesCollected: number;
}

/** Tracks background work so that callers (tests, the simulator) can wait until a node is quiet. */
export class Tasks {
  private readonly running = new Set<Promise<unknown>>();

  track(p: Promise<unknown>): void {
    const t = p.catch(() => undefined).finally(() => this.running.delete(t));
    this.running.add(t);
  }

  get size(): number {
    return this.running.size;
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}

export interface StorageContext {
  readonly selfId: Id;
  readonly port: OverlayPort;
  readonly config: StorageConfig;
  readonly placement: Placement;
  /** How many replicas keys get now (tuned by churn); placement reads its r from it. */
  readonly policy: ReplicationPolicy;
  readonly replica: LocalReplica;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly counters: Counters;
  readonly events: Emitter<StorageEvents>;
  readonly meters: StorageMeters;
  readonly tasks: Tasks;
}

/** A request to a peer whose reply is checked against its schema (a peer's reply is input too). */
export async function callPeer<T>(
  ctx: StorageContext,
  node: Id,
  method: string,
  body: unknown,
  reply: v.GenericSchema<unknown, T>,
): Promise<T> {
  const raw = await ctx.port.call(node, method, body, { timeoutMs: ctx.config.requestTimeoutMs });
  const parsed = v.safeParse(reply, raw);
  if (!parsed.success) {
    ctx.counters.inc('storage.bad-reply');
    throw new SelfmeshError('BAD_MESSAGE', `bad ${method} reply from ${node.slice(0, 8)}: ${parsed.issues[0]?.message}`);
  }
  return parsed.output;
}

/** Resolves once `need` tasks succeeded, or as soon as that can no longer happen; `rest` settles with all. */
export function gather<T>(
  tasks: Promise<T>[],
  need: number,
): Promise<{ ok: T[]; errors: unknown[]; rest: Promise<void> }> {
  return new Promise((resolve) => {
    const ok: T[] = [];
    const errors: unknown[] = [];
    const rest = Promise.allSettled(tasks).then(() => undefined);
    let done = false;
    const check = () => {
      if (done) return;
      if (ok.length >= need || ok.length + (tasks.length - ok.length - errors.length) < need) {
        done = true;
        resolve({ ok: [...ok], errors: [...errors], rest });
      }
    };
    for (const t of tasks) {
      t.then((x) => { ok.push(x); check(); }, (e: unknown) => { errors.push(e); check(); });
    }
    check();
  });
}

const DEFINITE = ['TOO_LARGE', 'BAD_SIGNATURE', 'BAD_MESSAGE', 'QUOTA', 'STALE', 'CONFLICT'] as const;

/** A refusal that another replica would repeat (unlike a timeout or an unreachable node). */
export function isDefinite(e: unknown): boolean {
  return e instanceof SelfmeshError && (DEFINITE as readonly string[]).includes(e.code);
}

/** The error a writer sees when a quorum was not reached: a refusal if replicas refused, else UNREACHABLE. */
export function quorumError(what: string, got: number, need: number, errors: unknown[]): SelfmeshError {
  let best: SelfmeshError | undefined;
  let bestCount = 0;
  const tally = new Map<string, number>();
  for (const e of errors) {
    if (!(e instanceof SelfmeshError) || !isDefinite(e)) continue;
    const n = (tally.get(e.code) ?? 0) + 1;
    tally.set(e.code, n);
    if (n > bestCount) [best, bestCount] = [e, n];
  }
  if (best) return new SelfmeshError(best.code, `${what}: ${best.message}`);
  const detail = errors.length ? `; ${errorMessage(errors[0])}` : '';
  return new SelfmeshError('UNREACHABLE', `${what}: ${got} of ${need} replicas answered${detail}`);
}
