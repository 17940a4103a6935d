// NodeApi (what the views and `window.selfmesh` use) over a SelfmeshNode. The same facade serves a
// node in this tab and a node inside a simulated room.
import type { Clock } from '../core/clock.ts';
import { Emitter } from '../core/emitter.ts';
import type { Id } from '../core/id.ts';
import type { SelfmeshNode } from '../node.ts';
import { METHOD } from '../overlay/messages.ts';
import { keyFor } from '../storage/records.ts';
import type { JoinProgress, JoinStep, LinkInfo, NodeApi, NodeStats, RoomEvent } from './node-api.ts';

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
    this.state = { step: next ?? 'table-filled', done, times: { ...this.state.times, [step]: this.clock.now() } };
    this.changes.emit('change', this.state);
  }

  fail(kind: NonNullable<JoinProgress['error']>['kind'], message: string): void {
    this.state = { ...this.state, step: 'error', error: { kind, message } };
    this.changes.emit('change', this.state);
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
  const rtts = new Map<Id, number>();
  return {
    id: node.id,
    room,
    startedAt: node.startedAt,
    progress: () => progress.get(),
    links: (): LinkInfo[] =>
      node.overlay.links().map((l) => ({ id: l.id, via: l.via, rttMs: rtts.get(l.id) ?? null, openedAt: l.linkedAt })),
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
      const started = clock.now();
      const result = await node.overlay.route(key, { method: METHOD.closest, body: { n: 1 } });
      const first = result.path[0];
      if (first && result.path.length > 0) rtts.set(first, clock.now() - started);
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
