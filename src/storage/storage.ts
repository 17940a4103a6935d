// The storage façade: one per node. It wires the replica, quorum reads and writes, cas, handoff,
// re-replication, anti-entropy and the request handlers to the overlay port, and exposes the API.
import { type Clock, every } from '../core/clock.ts';
import type { Counters } from '../core/counters.ts';
import { Emitter } from '../core/emitter.ts';
import { SelfmeshError, isSelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { Identity, SignatureScheme } from '../core/identity.ts';
import type { Rng } from '../core/rng.ts';
import { AntiEntropy } from './anti-entropy.ts';
import { TombstoneGc } from './gc.ts';
import { Cas, type CasResult } from './cas.ts';
import { type StorageConfig, resolveConfig } from './config.ts';
import { type StorageContext, type StorageEvents, type StorageMeters, Tasks } from './context.ts';
import { Handoff } from './handoff.ts';
import type { OverlayPort } from './overlay-port.ts';
import { Placement } from './placement.ts';
import { Quorum } from './quorum.ts';
import { DEFAULT_POLICY, ReplicationPolicy } from './replication-policy.ts';
import {
  type DataRecord, type Version, makeImmutable, makeSigned, makeVersioned, nextVersion, signedKey, versionOf,
} from './records.ts';
import { Mover } from './repair.ts';
import { LocalReplica } from './replica.ts';
import type { ReplicaStore } from './replica-store.ts';
import { Service } from './service.ts';

export interface StorageOptions {
  port: OverlayPort;
  store: ReplicaStore;
  identity: Identity;
  scheme: SignatureScheme;
  clock: Clock;
  rng: Rng;
  counters: Counters;
  config?: Partial<StorageConfig>;
}

export interface Entry {
  kind: DataRecord['kind'];
  value: Uint8Array;
  /** Open records: the version, for cas. */
  version: Version | null;
  /** Signed records: the sequence number. */
  seq: number | null;
}

export interface StorageStats extends StorageMeters {
  records: number;
  bytes: number;
  /** Keys whose handoff is not yet confirmed. */
  pendingHandoff: number;
}

export class Storage {
  readonly config: StorageConfig;
  readonly events = new Emitter<StorageEvents>();
  private readonly ctx: StorageContext;
  private readonly replica: LocalReplica;
  private readonly quorum: Quorum;
  private readonly casOp: Cas;
  private readonly handoff: Handoff;
  private readonly antiEntropy: AntiEntropy;
  private readonly gc: TombstoneGc;
  private readonly service: Service;
  private readonly offs: Array<() => void> = [];
  private started = false;

  constructor(private readonly opts: StorageOptions) {
    this.config = resolveConfig(opts.config);
    this.replica = new LocalReplica(opts.store, opts.scheme, this.config, () => opts.clock.now());
    const meters: StorageMeters = {
      writesAcked: 0, readsServed: 0, recordsMoved: 0, repairBytes: 0, readRepairBytes: 0, controlBytes: 0,
      dropped: 0, refused: 0, tombstonesCollected: 0,
    };
    const { port } = opts;
    const policy = new ReplicationPolicy(
      { ...DEFAULT_POLICY, rMin: this.config.r, rMax: this.config.rMax, lossPerKeyDay: this.config.lossPerKeyDay },
      opts.clock,
      () => port.contacts?.().length ?? port.neighbors().length,
    );
    this.ctx = {
      selfId: port.selfId, port, config: this.config, policy,
      placement: new Placement(port, () => policy.r, this.config.slack, () => opts.clock.now()), replica: this.replica,
      clock: opts.clock, rng: opts.rng, counters: opts.counters, events: this.events, meters, tasks: new Tasks(),
    };
    const mover = new Mover(this.ctx);
    this.quorum = new Quorum(this.ctx);
    this.casOp = new Cas(this.ctx, this.quorum);
    this.handoff = new Handoff(this.ctx, mover);
    this.antiEntropy = new AntiEntropy(this.ctx, mover);
    this.gc = new TombstoneGc(this.ctx, mover);
    this.service = new Service(this.ctx, this.antiEntropy, this.casOp, this.handoff);
  }

  get selfId(): Id {
    return this.ctx.selfId;
  }

  /** Replicas per key now: config.r, or more while the churn this node sees asks for more. */
  get replicas(): number {
    return this.ctx.policy.r;
  }

  /** Loads the local records (a reopened database), registers the handlers and starts maintenance. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.handoff.resume();
    await this.replica.load();
    this.service.register(this.opts.port.methods);
    const { port, clock } = this.opts;
    // A join, leave or death changes who holds what: hand records over, re-replicate.
    this.offs.push(port.on('neighborhood', () => this.handoff.schedule()));
    this.offs.push(port.on('dead', () => {
      this.ctx.policy.departed();
      this.handoff.schedule();
    }));
    // A suspected link is out of the known nodes already: re-replicate now, not at the next retry.
    this.offs.push(port.on('suspected', () => this.handoff.schedule()));
    // The policy accounts link-time and may change r; a changed r moves records like a changed
    // neighbourhood does (the handoff pass sees it and plans again).
    this.offs.push(every(clock, 5_000, () => {
      const before = this.ctx.policy.r;
      this.ctx.policy.tick();
      if (this.ctx.policy.r !== before) this.handoff.schedule();
    }));
    if (this.config.retryMs > 0) {
      // Also catches records that arrived outside any neighbourhood event (a spare that took a write).
      this.offs.push(every(clock, this.config.retryMs, () => this.handoff.schedule()));
    }
    if (this.config.antiEntropyMs > 0) {
      this.offs.push(every(clock, this.config.antiEntropyMs, () => this.ctx.tasks.track(this.antiEntropy.round())));
    }
    if (this.config.tombstoneTtlMs > 0) {
      const period = Math.max(1_000, Math.min(this.config.tombstoneTtlMs / 4, 600_000));
      this.offs.push(every(clock, period, () => this.ctx.tasks.track(this.gc.run())));
    }
    // Records that survived a reload are reconciled with the room like any handoff.
    this.handoff.schedule();
  }

  /** Stops maintenance and unregisters the handlers (the store stays open; close it separately). */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.handoff.halt();
    for (const off of this.offs.splice(0)) off();
    this.service.unregister(this.opts.port.methods);
  }

  /** Resolves when no background work (read repair, handoff, anti-entropy) is running. */
  whenIdle(): Promise<void> {
    return this.ctx.tasks.idle();
  }

  get busy(): boolean {
    return this.ctx.tasks.size > 0;
  }

  // ---- open versioned records ----

  /** Writes value under key, last writer wins. Resolves with the version W replicas acknowledged. */
  put(key: Id, value: Uint8Array): Promise<Version> {
    return this.writeVersioned(key, value);
  }

  /** Deletes key: a tombstone with a newer version, which replicas keep so the value cannot come back. */
  delete(key: Id): Promise<Version> {
    return this.writeVersioned(key, null);
  }

  /** Writes value only if key's current version is `expected` (null: absent or deleted). */
  cas(key: Id, expected: Version | null, value: Uint8Array): Promise<CasResult> {
    return this.casOp.cas(key, expected, value);
  }

  /** The value under key (any kind), or null if absent or deleted. */
  async get(key: Id): Promise<Uint8Array | null> {
    return (await this.getEntry(key))?.value ?? null;
  }

  /** The value under key with its version or seq, or null if absent or deleted. */
  async getEntry(key: Id): Promise<Entry | null> {
    const { record } = await this.quorum.read(key);
    if (!record || record.value === null) return null;
    return {
      kind: record.kind,
      value: record.value,
      version: record.kind === 'versioned' ? { counter: record.counter, writer: record.writer } : null,
      seq: record.kind === 'signed' ? record.seq : null,
    };
  }

  // ---- immutable records ----

  /** Stores value under SHA-256(value) and resolves with that key. */
  async putImmutable(value: Uint8Array): Promise<Id> {
    const rec = makeImmutable(value);
    await this.quorum.write(rec);
    return rec.key;
  }

  // ---- signed mutable records ----

  /**
   * Publishes value under (this node's public key, name). Without seq, the next after the current one.
   * Resolves with the key and the seq written; an old seq is refused with STALE.
   */
  async putSigned(name: string, value: Uint8Array, seq?: number): Promise<{ key: Id; seq: number }> {
    const key = signedKey(this.opts.identity.publicKey, name);
    const next = seq ?? ((await this.getSignedAt(key))?.seq ?? 0) + 1;
    const rec = makeSigned(this.opts.identity, name, next, value);
    await this.quorum.write(rec);
    return { key, seq: next };
  }

  /** The latest value that the owner of publicKey signed under name (checked), or null. */
  async getSigned(publicKey: Uint8Array, name: string): Promise<{ value: Uint8Array; seq: number } | null> {
    return this.getSignedAt(signedKey(publicKey, name));
  }

  /** Puts a record as it is (already signed or versioned by someone): orphan recovery uses it. */
  async republish(record: DataRecord): Promise<void> {
    // The write checks the record first (quorum.write), as every holder does again.
    try {
      await this.quorum.write(record);
    } catch (e) {
      // The room already holds something newer: nothing to put back.
      if (!isSelfmeshError(e, 'STALE')) throw e;
    }
  }

  // ---- maintenance (also run by timers and events) ----

  /** One anti-entropy exchange with peer; returns how many keys moved each way. */
  syncWith(peer: Id): Promise<{ pushed: number; fetched: number }> {
    return this.antiEntropy.syncWith(peer);
  }

  /** Collects the tombstones that are old enough and that every holder has (normally run on a timer). */
  collectTombstones(): Promise<number> {
    return this.gc.run();
  }

  /**
   * Before a leave: hands every record to the holders its key has without this node, and resolves once
   * they confirmed (or failed). The overlay's before-leave hook should run this rather than rebalance():
   * a plain handoff pass still counts this node as a holder, so a leave would cost each of its keys a
   * replica until the others notice.
   */
  handOver(): Promise<{ keys: number; confirmed: number }> {
    return this.handoff.handOver();
  }

  /** Runs a handoff pass now (normally run on neighbourhood events). */
  rebalance(): Promise<void> {
    this.handoff.schedule();
    return this.whenIdle();
  }

  /** Whether this node holds key locally (for tests and the simulator's checks). */
  holds(key: Id): boolean {
    return this.replica.has(key);
  }

  /** Local record (for inspection; not a quorum read). */
  async local(key: Id): Promise<DataRecord | undefined> {
    return this.replica.read(key);
  }

  heldKeys(): Id[] {
    return this.replica.keys();
  }

  stats(): StorageStats {
    return {
      ...this.ctx.meters,
      records: this.replica.index.size,
      bytes: this.replica.bytes,
      pendingHandoff: this.handoff.pendingKeys,
    };
  }

  private async writeVersioned(key: Id, value: Uint8Array | null): Promise<Version> {
    if (value && value.length > this.config.maxValueBytes) {
      throw new SelfmeshError('TOO_LARGE', `value of ${value.length} bytes exceeds the limit of ${this.config.maxValueBytes}`);
    }
    for (let attempt = 0; ; attempt++) {
      const { record } = await this.quorum.read(key);
      if (record && record.kind !== 'versioned') {
        throw new SelfmeshError('CONFLICT', `key ${key.slice(0, 8)} holds a ${record.kind} record`);
      }
      const version = nextVersion(record ? versionOf(record) : null, this.selfId, this.ctx.clock.now());
      try {
        await this.quorum.write(makeVersioned(key, version, value));
        return version;
      } catch (e) {
        // Another writer got a newer version in first: read again and write after it.
        if (!isSelfmeshError(e, 'STALE') || attempt >= this.config.putRetries) throw e;
      }
    }
  }

  private async getSignedAt(key: Id): Promise<{ value: Uint8Array; seq: number } | null> {
    const { record } = await this.quorum.read(key);
    if (!record) return null;
    if (record.kind !== 'signed') throw new SelfmeshError('CONFLICT', `key ${key.slice(0, 8)} holds a ${record.kind} record`);
    return { value: record.value, seq: record.seq };
  }
}
