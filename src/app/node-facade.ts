// NodeApi (what the views and `window.selfmesh` use) over a SelfmeshNode. The same facade serves a
// node in this tab and a node inside a simulated room.
import type { Clock } from '../core/clock.ts';
import { Emitter } from '../core/emitter.ts';
import type { Id } from '../core/id.ts';
import type { SelfmeshNode } from '../node.ts';
import { METHOD } from '../overlay/messages.ts';
import { keyFor } from '../storage/records.ts';
import type { JoinPhase, JoinProgress, JoinStep, LinkInfo, NodeApi, NodeStats, RoomEvent } from './node-api.ts';
import type { ChatMessage, ComponentOutcome, ComponentService } from './node-api.ts';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { errorMessage } from '../core/errors.ts';
import type { Identity } from '../core/identity.ts';
import type { ManifestFields } from '../components/manifest.ts';
import type { SwapReport } from '../components/hot-swap.ts';
import { codeStorePort, type NodeComponents } from '../node/components.ts';
import { codeHashOf, signManifest } from '../components/manifest.ts';
import { manifestRecord, versionsRecord } from '../components/registry.ts';
import { compareVersions } from '../components/semver.ts';

const EVENT_LOG_MAX = 500;

export class JoinTracker {
  private state: JoinProgress = { step: 'signaling', done: [], times: {} };
  readonly changes = new Emitter<{ change: JoinProgress }>();

  constructor(private readonly clock: Clock) {}

  get(): JoinProgress {
    return this.state;
  }

  done(step: JoinStep): void {
    if (this.state.done.includes(step)) return;
    const order: JoinStep[] = ['signaling', 'first-link', 'joined', 'table-filled'];
    const done = order.filter((s) => s === step || this.state.done.includes(s));
    const next = order.find((s) => !done.includes(s));
    this.state = { ...this.state, step: next ?? 'table-filled', done, times: { ...this.state.times, [step]: this.clock.now() } };
    this.changes.emit('change', this.state);
  }

  fail(kind: NonNullable<JoinProgress['error']>['kind'], message: string): void {
    this.state = { ...this.state, step: 'error', error: { kind, message } };
    this.changes.emit('change', this.state);
  }

  /** Records when the overlay's join passed a phase (no step of its own in the progress shown). */
  phase(phase: JoinPhase): void {
    this.state = { ...this.state, phases: { ...this.state.phases, [phase]: this.clock.now() } };
  }

  clearError(): void {
    if (!this.state.error) return;
    const order: JoinStep[] = ['signaling', 'first-link', 'joined', 'table-filled'];
    const { error: _error, ...rest } = this.state;
    this.state = { ...rest, step: order.find((s) => !rest.done.includes(s)) ?? 'table-filled' };
    this.changes.emit('change', this.state);
  }
}

/** Room events as this node sees them, kept in a bounded log. */
export function roomEvents(node: SelfmeshNode, clock: Clock): { log: RoomEvent[]; events: Emitter<{ event: RoomEvent }> } {
  const log: RoomEvent[] = [];
  const events = new Emitter<{ event: RoomEvent }>();
  const push = (e: Omit<RoomEvent, 'at'>) => {
    const event = { ...e, at: clock.now() };
    log.push(event);
    if (log.length > EVENT_LOG_MAX) log.shift();
    events.emit('event', event);
  };
  const o = node.overlay.events;
  o.on('join', ({ id }) => push({ kind: 'join', node: id, text: 'this node joined the room' }));
  o.on('leave', ({ id }) => push({ kind: 'leave', node: id, text: `${id.slice(0, 8)} left` }));
  o.on('linkUp', ({ id, via }) => push({ kind: 'link-up', node: id, text: `link to ${id.slice(0, 8)} (via ${via})` }));
  o.on('linkDown', ({ id, reason }) => push({ kind: 'link-down', node: id, text: `link to ${id.slice(0, 8)} closed: ${reason}` }));
  o.on('suspected', ({ id }) => push({ kind: 'suspected', node: id, text: `${id.slice(0, 8)} suspected` }));
  o.on('dead', ({ id }) => push({ kind: 'dead', node: id, text: `${id.slice(0, 8)} declared dead` }));
  return { log, events };
}

export interface FacadeOptions {
  node: SelfmeshNode;
  room: string;
  clock: Clock;
  progress: JoinTracker;
}

export function nodeFacade({ node, room, clock, progress }: FacadeOptions): NodeApi & { eventLog(): RoomEvent[] } {
  const { log, events } = roomEvents(node, clock);
  return {
    id: node.id,
    room,
    startedAt: node.startedAt,
    progress: () => progress.get(),
    links: (): LinkInfo[] =>
      node.overlay.links().map((l) => ({ id: l.id, via: l.via, rttMs: l.rttMs, openedAt: l.linkedAt })),
    stats: (): NodeStats => {
      const o = node.overlay.stats();
      const s = node.storage.stats();
      const t = node.traffic;
      const fill: number[] = [];
      for (const l of node.overlay.links()) fill[l.bucket] = (fill[l.bucket] ?? 0) + 1;
      return {
        uptimeMs: clock.now() - node.startedAt,
        links: o.links,
        linksViaServer: o.linksViaServer,
        linksViaOverlay: o.linksViaOverlay,
        bucketFill: Array.from(fill, (x) => x ?? 0),
        records: s.records,
        recordBytes: s.bytes,
        messagesIn: t.messagesIn,
        messagesOut: t.messagesOut,
        bytesIn: t.bytesIn,
        bytesOut: t.bytesOut,
        counters: node.counters.snapshot(),
      };
    },
    onEvent: (listener) => events.on('event', listener),
    eventLog: () => [...log],
    route: async (key: Id) => {
      const result = await node.overlay.route(key, { method: METHOD.closest, body: { n: 1 } });
      return { key, path: [node.id, ...result.path], responsible: result.responder };
    },
    inspect: (id: Id) => node.inspect(id),
    put: async (name: string, value: unknown) => {
      const key = await node.put(name, value);
      return { key, holders: await node.holders(name) };
    },
    get: async (name: string) => {
      const got = await node.get(name);
      if (!got.found) return null;
      return { key: keyFor(name), value: got.value, holders: await node.holders(name) };
    },
    holders: (name: string) => node.holders(name),
    leave: () => node.leave(),
    broadcast: async (payload: unknown) => node.broadcaster.send('app', payload),
    broadcastSeenAt: (id: string) => node.broadcaster.seenAt(id),
  };
}

export interface ShippedComponent {
  source: Uint8Array;
  fields: ManifestFields;
}

export interface ComponentFacadeOptions {
  components: NodeComponents;
  /** This tab's publisher key for the room, if it has one. */
  publisher: Identity | null;
  /** Shipped code by `name@version`. */
  shipped: Map<string, ShippedComponent>;
  /** Reads name, version and interfaces from a module (imports it: the publisher's own code only). */
  readFields: (code: Uint8Array) => Promise<ManifestFields>;
  author: string;
}

/** ComponentService over the node's components, for the views and `window.selfmesh`. */
export function componentFacade(o: ComponentFacadeOptions): ComponentService {
  const { components: nc, publisher } = o;
  const rt = nc.runtime;
  const publish = async (source: Uint8Array, fields: ManifestFields): Promise<ComponentOutcome> => {
    try {
      const { manifest, rollout } = await nc.publish(publisher, source, fields);
      const swapped = rollout.outcomes.filter((x) => x.status === 'swapped').length;
      const failed = rollout.outcomes.find((x) => x.status === 'failed');
      return {
        ok: rollout.ok,
        name: manifest.name,
        version: manifest.version,
        text: rollout.ok
          ? `published ${manifest.name}@${manifest.version}; ${swapped} of ${rollout.outcomes.length} nodes swapped`
          : `published ${manifest.name}@${manifest.version}, but the rollout stopped: ${failed?.error ?? 'a node failed'}; ${rollout.rolledBack.length} rolled back`,
      };
    } catch (e) {
      return { ok: false, text: errorMessage(e) };
    }
  };
  const report = (r: SwapReport): ComponentOutcome => ({
    ok: r.ok,
    name: r.component,
    version: r.to,
    text: r.ok ? `${r.component} ${r.from} → ${r.to}` : (r.error?.message ?? 'swap failed'),
  });
  return {
    list: () => rt.list(),
    onChange: (listener) => nc.events.on('change', listener),
    log: () => [...nc.log],
    trusted: () => nc.trustedKeys(),
    publisherKey: () => (nc.canPublish(publisher) ? bytesToHex(publisher.publicKey) : null),
    shipped: () => [...o.shipped.values()].map((s) => ({ name: s.fields.name, version: s.fields.version })),
    available: (name) => rt.availableVersions(name).catch((): string[] => []),
    publishShipped: async (name, version) => {
      const s = o.shipped.get(`${name}@${version}`);
      if (!s) return { ok: false, text: `${name}@${version} is not shipped with this build` };
      return publish(s.source, s.fields);
    },
    publishSource: async (text) => {
      const code = utf8ToBytes(text);
      let fields: ManifestFields;
      try {
        fields = await o.readFields(code);
      } catch (e) {
        return { ok: false, text: `not a component module: ${errorMessage(e)}` };
      }
      return publish(code, fields);
    },
    swap: async (name, version, { rollback = false, scope }) => {
      try {
        if (scope === 'node') return report(await nc.swapHere(name, version, rollback));
        if (scope !== 'room') return report(await nc.swapOn(scope, name, version, rollback));
        const r = await nc.swapRoom(name, version, rollback, publisher);
        const failed = r.outcomes.find((x) => x.status === 'failed');
        const swapped = r.outcomes.filter((x) => x.status === 'swapped').length;
        return {
          ok: r.ok,
          name,
          version,
          text: r.ok ? `${swapped} of ${r.outcomes.length} nodes swapped` : `stopped: ${failed?.error ?? 'a node failed'}; ${r.rolledBack.length} rolled back`,
        };
      } catch (e) {
        return { ok: false, text: errorMessage(e) };
      }
    },
    providers: (iface, range) => nc.trader.findProviders(iface, range),
    chat: {
      send: (text) => rt.call('chat', 'send', [o.author, text]) as Promise<ChatMessage>,
      history: () => rt.call('chat', 'history') as Promise<ChatMessage[]>,
      react: (id, emoji) => rt.call('chat', 'react', [id, emoji, o.author]) as Promise<boolean>,
      onMessage: (listener) =>
        rt.events.on('event', (e) => {
          if (e.component === 'chat') listener();
        }),
    },
  };
}

/**
 * For the end-to-end test of invariant 6: stores `version` of a shipped component whose code was
 * changed after its manifest was signed (the manifest names the changed code's hash, the signature is
 * the original's), as an attacker with write access to the DHT could. Loading it must be refused.
 */
export async function publishTampered(
  nc: NodeComponents,
  publisher: Identity,
  shipped: ShippedComponent,
  version: string,
): Promise<void> {
  const fields = { ...shipped.fields, version };
  const manifest = signManifest(publisher, fields, shipped.source);
  const code = utf8ToBytes(new TextDecoder().decode(shipped.source) + '\n// changed after signing\n');
  const store = codeStorePort(nc.node.storage, publisher);
  await store.putImmutable(code);
  await store.putSigned(manifestRecord(fields.name, version), { ...manifest, codeHash: codeHashOf(code) });
  const versions = await nc.registry.versions(publisher.publicKey, fields.name);
  await store.putSigned(versionsRecord(fields.name), {
    name: fields.name,
    versions: [...new Set([...versions, version])].sort(compareVersions),
  });
}
