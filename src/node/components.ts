// The component runtime on a real node: the model's ports (code store, trading, room broadcast, remote
// calls) adapted to storage, the broadcaster and routed calls; publishing; room-wide rollouts (canary
// share first, then all, back if any node fails its swap); signed release notices that bring the
// nodes a rollout did not reach up to date. Node-agnostic: the tab and the CLI's Node peer both use it.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { every, type Clock } from '../core/clock.ts';
import { decode, encode } from '../core/codec.ts';
import { Emitter } from '../core/emitter.ts';
import { SelfmeshError, errorMessage, isSelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { Identity } from '../core/identity.ts';
import { ComponentLoader, type Importer, type ModuleUrlKind } from '../components/loader.ts';
import type { Manifest, ManifestFields } from '../components/manifest.ts';
import { publishComponent } from '../components/publish.ts';
import { ComponentRegistry, type CodeStorePort } from '../components/registry.ts';
import { overlayRemoteCaller, registerComponentMethods } from '../components/remote.ts';
import { deliverRoomMessage, roomTarget, type RoomBroadcastPort } from '../components/room.ts';
import { ComponentRuntime } from '../components/runtime.ts';
import { compareVersions } from '../components/semver.ts';
import { Trader, type Offer, type TradingPort } from '../components/trading.ts';
import { isTrusted, type TrustPolicy } from '../components/trust.ts';
import { overlaySwapRequester, rollout, type RolloutResult, type SwapRequester } from '../manage/rollout.ts';
import type { SelfmeshNode } from '../node.ts';
import { makeSigned } from '../storage/records.ts';
import type { Storage } from '../storage/storage.ts';
import { keyFor } from '../storage/records.ts';

export const ROOM_TOPIC = 'component/room/';
export const NOTICE_TOPIC = 'component/notice';
const OFFER_TTL_MS = 60_000;
/** The publisher's signed record of the version the room should run (after a rollout or rollback). */
export const currentRecord = (name: string) => `component/${name}/current`;
const MAX_OFFERS = 256;

/** The code store over storage; putSigned signs as `publisher` (the publisher's key, not the node's). */
export function codeStorePort(storage: Storage, publisher?: Identity): CodeStorePort {
  return {
    putImmutable: (bytes) => storage.putImmutable(bytes),
    getImmutable: (key) => storage.get(key),
    putSigned: async (name, value) => {
      if (!publisher) throw new SelfmeshError('REFUSED', 'this code store has no publisher key');
      const bytes = encode(value);
      const current = await storage.getSigned(publisher.publicKey, name);
      // A record signed by another key than the node's goes in as a ready-made signed record.
      await storage.republish(makeSigned(publisher, name, (current?.seq ?? 0) + 1, bytes));
    },
    getSigned: async (publicKey, name) => {
      const got = await storage.getSigned(publicKey, name);
      return got ? decode(got.value) : null;
    },
  };
}

function offersIn(bytes: Uint8Array | null | undefined): Offer[] {
  if (!bytes) return [];
  try {
    const v = decode(bytes);
    return Array.isArray(v) ? (v as Offer[]) : [];
  } catch {
    return [];
  }
}

/** One open record per interface holds every offer; writers merge their own with cas and retry. */
export function tradingPort(storage: Storage, clock: Clock, ttlMs = OFFER_TTL_MS): TradingPort {
  const key = (iface: string) => keyFor(`component/offers/${iface}`);
  return {
    put: async (iface, offer) => {
      for (let attempt = 0; attempt < 6; attempt++) {
        const entry = await storage.getEntry(key(iface));
        const now = clock.now();
        const kept = offersIn(entry?.value).filter(
          (o) => o && typeof o === 'object' && now - o.at <= ttlMs && !(o.node === offer.node && o.component === offer.component),
        );
        const merged = [...kept.slice(-(MAX_OFFERS - 1)), offer];
        const r = await storage.cas(key(iface), entry?.version ?? null, encode(merged));
        if (r.ok) return;
      }
      throw new SelfmeshError('CONFLICT', `offers for ${iface}: too many concurrent writers`);
    },
    list: async (iface) => offersIn(await storage.get(key(iface))),
  };
}

export function roomBroadcastPort(node: SelfmeshNode): RoomBroadcastPort {
  return {
    broadcast: async (component, payload) => void node.broadcaster.send(ROOM_TOPIC + component, payload),
  };
}

/** A release (go to this version) or a rollback (go back to it), signed by a trusted publisher. */
interface Notice {
  kind: 'release' | 'rollback';
  name: string;
  version: string;
  publisher: string;
  signature: string;
}
const noticeBytes = (n: Omit<Notice, 'signature'>) =>
  encode(['selfmesh/component-notice/1', n.kind, n.name, n.version, n.publisher]);

export interface NodeComponentsOptions {
  /** The room's policy, read at every load. */
  trust: () => TrustPolicy;
  urlKind: ModuleUrlKind;
  importer?: Importer;
  advertiseMs?: number;
  /** How often a node compares what it runs with the room's current version (for missed notices). */
  syncMs?: number;
  canaryShare?: number;
}

export interface ComponentLogEntry {
  at: number;
  ok: boolean;
  text: string;
}

export class NodeComponents {
  readonly runtime: ComponentRuntime;
  readonly registry: ComponentRegistry;
  readonly trader: Trader;
  readonly events = new Emitter<{ change: void; log: ComponentLogEntry }>();
  readonly log: ComponentLogEntry[] = [];
  /** Versions this node failed to swap to: a notice does not make it try them again. */
  private readonly failed = new Set<string>();
  private readonly clock: Clock;
  /** Read-only view of the code store (writes go through a port bound to a publisher key). */
  private readonly store: CodeStorePort;
  private readonly offs: Array<() => void> = [];
  /** The room's current version of each component as this node last followed it. */
  private readonly followed = new Map<string, string>();

  constructor(
    readonly node: SelfmeshNode,
    private readonly options: NodeComponentsOptions,
  ) {
    this.clock = node.parts.clock;
    const scheme = node.parts.scheme;
    this.store = codeStorePort(node.storage);
    this.registry = new ComponentRegistry(this.store);
    this.trader = new Trader(tradingPort(node.storage, this.clock), { clock: this.clock, node: node.id, ttlMs: OFFER_TTL_MS });
    this.runtime = new ComponentRuntime({
      node: node.id,
      clock: this.clock,
      loader: new ComponentLoader({ trust: options.trust, scheme, urlKind: options.urlKind, importer: options.importer }),
      registry: this.registry,
      trust: options.trust,
      remote: overlayRemoteCaller((n, m, b, o) => node.calls.call(n, m, b, o)),
      trader: this.trader,
    });
    registerComponentMethods(node.methods, this.runtime);
    node.summary.components = () => this.runtime.list().map((c) => ({ name: c.name, version: c.version }));
    this.offs.push(
      node.broadcaster.events.on('message', (e) => {
        if (e.topic === NOTICE_TOPIC) void this.onNotice(e.payload);
        else if (e.topic.startsWith(ROOM_TOPIC) && e.origin !== node.id) {
          const name = e.topic.slice(ROOM_TOPIC.length);
          if (this.runtime.get(name)) deliverRoomMessage(this.runtime, name, e.payload, e.origin).catch(() => node.counters.inc('component.dropped'));
        }
      }),
      this.runtime.events.on('swap', (r) => {
        this.note(r.ok, r.ok ? `${r.component} ${r.from} → ${r.to} (paused ${r.pauseMs.toFixed(1)} ms)` : r.error?.message ?? 'swap failed');
        // A version that failed on its own (start, health...) is not tried again; a busy component is.
        if (!r.ok && r.error?.stage !== 'drain') this.failed.add(`${r.component}@${r.to}`);
        this.advertiseSoon();
      }),
      this.runtime.events.on('installed', () => this.events.emit('change', undefined)),
      every(this.clock, options.advertiseMs ?? 15_000, () => this.advertiseSoon()),
      every(this.clock, options.syncMs ?? 20_000, () => void this.sync().catch(() => undefined)),
    );
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  private note(ok: boolean, text: string): void {
    const entry = { at: this.clock.now(), ok, text };
    this.log.unshift(entry);
    this.log.length = Math.min(this.log.length, 50);
    this.events.emit('log', entry);
    this.events.emit('change', undefined);
  }

  private advertiseSoon(): void {
    // Below quorum (a room of one) the write fails; the next round tries again.
    this.runtime.advertise().catch(() => this.node.counters.inc('component.advertiseFailed'));
  }

  trustedKeys(): string[] {
    return [...this.options.trust().trustedPublishers];
  }

  /** Whether this key may publish for the room (the room trusts it). */
  canPublish(key: Identity | null | undefined): key is Identity {
    return !!key && isTrusted(this.options.trust(), bytesToHex(key.publicKey));
  }

  /**
   * Runs `name` on this node: the room's current version (else the newest a trusted publisher lists),
   * loaded through the verifying loader. When no trusted publisher lists one and `shipped` is given with a trusted key, publishes the
   * shipped code first. Retries (the DHT needs a quorum of nodes) until it runs or `cancelled()`.
   */
  async ensure(
    name: string,
    shipped?: { source: Uint8Array; fields: ManifestFields; publisher: Identity | null },
    cancelled: () => boolean = () => false,
    retryMs = 1_000,
  ): Promise<void> {
    // Backs off to 10× retryMs, so a room whose trusted publisher never publishes costs little.
    for (let tries = 0; !this.runtime.get(name) && !cancelled(); tries++) {
      try {
        const known = await this.runtime.availableVersions(name);
        if (known.length === 0 && shipped && this.canPublish(shipped.publisher))
          await publishComponent(codeStorePort(this.node.storage, shipped.publisher), shipped.publisher, shipped.source, shipped.fields);
        if (known.length > 0 || shipped) {
          const current = await this.roomCurrent(name);
          const c = await this.runtime.installFrom(name, current ?? undefined, {
            bindings: { room: roomTarget(name, roomBroadcastPort(this.node), this.node.id) },
          });
          await this.runtime.start(name);
          if (current) this.followed.set(name, current);
          this.note(true, `installed ${name}@${c.version}`);
          this.advertiseSoon();
          return;
        }
      } catch (e) {
        if (isSelfmeshError(e, 'BAD_SIGNATURE') || isSelfmeshError(e, 'UNTRUSTED')) this.note(false, errorMessage(e));
        // Installed but not started: take it out, so that the next round installs it afresh.
        if (this.runtime.get(name)) await this.runtime.remove(name).catch(() => undefined);
      }
      await new Promise<void>((r) => this.clock.setTimeout(r, retryMs * Math.min(10, 1 + tries / 4)));
    }
  }

  /** Publishes code signed by `publisher` (refused unless the room trusts it), then rolls it out. */
  async publish(publisher: Identity | null, source: Uint8Array, fields: ManifestFields): Promise<{ manifest: Manifest; rollout: RolloutResult }> {
    const who = publisher ? `the key ${bytesToHex(publisher.publicKey).slice(0, 12)}…` : 'any key of this tab';
    if (!this.canPublish(publisher))
      throw new SelfmeshError('UNTRUSTED', `this room does not trust ${who}; it cannot publish here`);
    const { manifest } = await publishComponent(codeStorePort(this.node.storage, publisher), publisher, source, fields);
    this.note(true, `published ${manifest.name}@${manifest.version}`);
    const result = await this.swapRoom(manifest.name, manifest.version, false, publisher);
    return { manifest, rollout: result };
  }

  /** Swaps on this node only (forward, or back to a version named). */
  async swapHere(name: string, version: string | undefined, rollback = false) {
    if (rollback && !version) throw new SelfmeshError('REFUSED', 'a rollback must name its version');
    return rollback ? this.runtime.rollback(name, version!) : this.runtime.upgrade(name, version);
  }

  /** The nodes that run `name` (its advertisements), this one included. */
  async runners(name: string): Promise<Id[]> {
    const c = this.runtime.get(name);
    const ids = new Set<Id>(c ? [this.node.id] : []);
    const ifaces = c ? c.def.provides : [];
    for (const iface of ifaces)
      for (const o of await this.trader.findProviders(iface).catch((): Offer[] => []))
        if (o.component === name) ids.add(o.node);
    return [...ids];
  }

  /**
   * A room-wide swap: canaries first, then the rest; if a node's swap fails, the ones done go back to
   * the version they ran. Then a signed notice tells every node (also those not advertised yet).
   */
  async swapRoom(name: string, version: string | undefined, rollbackSwap: boolean, publisher: Identity | null): Promise<RolloutResult> {
    const before = this.runtime.get(name)?.version;
    const target = version ?? (await this.runtime.availableVersions(name)).at(-1);
    const result = await rollout(
      await this.runners(name),
      { component: name, version: target, rollback: rollbackSwap, canaryShare: this.options.canaryShare ?? 0.25, rollbackTo: rollbackSwap ? undefined : before },
      this.requester(),
    );
    this.note(result.ok, `${rollbackSwap ? 'rollback' : 'rollout'} of ${name}@${target}: ${result.outcomes.filter((o) => o.status === 'swapped').length}/${result.outcomes.length} swapped${result.ok ? '' : ', ' + (result.outcomes.find((o) => o.error)?.error ?? 'failed')}`);
    if (result.ok && target && publisher && this.canPublish(publisher)) {
      // Late joiners and nodes that miss the notice read this record (ensure, sync).
      await codeStorePort(this.node.storage, publisher)
        .putSigned(currentRecord(name), { name, version: target })
        .catch((e: unknown) => this.note(false, `could not record ${name}@${target} as current: ${errorMessage(e)}`));
      this.followed.set(name, target);
      const unsigned = { kind: rollbackSwap ? ('rollback' as const) : ('release' as const), name, version: target, publisher: bytesToHex(publisher.publicKey) };
      this.node.broadcaster.send(NOTICE_TOPIC, { ...unsigned, signature: bytesToHex(publisher.sign(noticeBytes(unsigned))) });
    }
    return result;
  }

  /** The highest version that a trusted publisher recorded as the room's current one, or null. */
  async roomCurrent(name: string): Promise<string | null> {
    let best: string | null = null;
    for (const key of this.options.trust().trustedPublishers) {
      const rec = (await this.store.getSigned(hexToBytes(key), currentRecord(name)).catch(() => null)) as { name?: unknown; version?: unknown } | null;
      if (rec?.name === name && typeof rec.version === 'string' && (!best || compareVersions(rec.version, best) > 0)) best = rec.version;
    }
    return best;
  }

  /**
   * Follows changes of the room's current version that this node missed (a notice lost, a link down).
   * Only a change is followed, so a swap asked for on this node alone stays until the room moves on.
   */
  async sync(): Promise<void> {
    for (const c of this.runtime.list()) {
      const current = await this.roomCurrent(c.name);
      if (!current || current === this.followed.get(c.name)) continue;
      const live = this.runtime.get(c.name);
      if (!live || live.swapping || this.failed.has(`${c.name}@${current}`)) continue;
      this.followed.set(c.name, current);
      if (current !== live.version)
        await this.swapHere(c.name, current, compareVersions(current, live.version) < 0).catch((e: unknown) => this.note(false, errorMessage(e)));
    }
  }

  /** Asks one node (this one or another) to swap; it verifies the code against its own policy. */
  swapOn(node: Id, name: string, version: string | undefined, rollback = false) {
    return overlaySwapRequester((n, m, b, o) => this.node.calls.call(n, m, b, o), 15_000)(node, { component: name, version, rollback });
  }

  /** Nodes that cannot be reached, or no longer run the component, are skipped: the notice reaches them. */
  private requester(): SwapRequester {
    const send = overlaySwapRequester((n, m, b, o) => this.node.calls.call(n, m, b, o), 15_000);
    return async (n, request) => {
      try {
        return await send(n, request);
      } catch (e) {
        const code = (e as { code?: string })?.code;
        if (code === 'UNREACHABLE' || code === 'TIMEOUT' || code === 'CLOSED' || /no component/.test(errorMessage(e)))
          throw new SelfmeshError('STALE', `skipped: ${errorMessage(e)}`);
        throw e;
      }
    };
  }

  private async onNotice(payload: unknown): Promise<void> {
    const n = payload as Notice;
    if (!n || typeof n !== 'object' || typeof n.name !== 'string' || typeof n.version !== 'string') return;
    if (typeof n.publisher !== 'string' || typeof n.signature !== 'string') return;
    if (!isTrusted(this.options.trust(), n.publisher)) return;
    const { signature, ...unsigned } = n;
    try {
      if (!this.node.parts.scheme.verify(hexToBytes(n.publisher), noticeBytes(unsigned), hexToBytes(signature))) return;
    } catch {
      return;
    }
    const c = this.runtime.get(n.name);
    if (!c || c.swapping || this.failed.has(`${n.name}@${n.version}`)) return;
    this.followed.set(n.name, n.version);
    const cmp = compareVersions(n.version, c.version);
    if ((n.kind === 'release' && cmp <= 0) || (n.kind === 'rollback' && cmp >= 0)) return;
    await this.swapHere(n.name, n.version, n.kind === 'rollback').catch((e: unknown) => this.note(false, errorMessage(e)));
  }
}
