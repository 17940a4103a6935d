// `#/sim/<n>`: the page attaches to a simulated room as one of its nodes. The room runs the real node
// code in the deterministic simulator, inside a Web Worker (sim-worker.ts); this is the page's side:
// NodeApi over messages, with the fast-changing readings (links, stats) pushed by the worker.
import { Emitter } from '../core/emitter.ts';
import type { NodeApi, RoomEvent } from './node-api.ts';
import type { FromWorker, ToWorker } from './sim-worker.ts';

export interface SimRoomOptions {
  /** Keep the room moving: now and then a node crashes or leaves and a new one joins. */
  churn?: boolean;
  seed?: number;
}

export async function createSimRoom(size: number, options: SimRoomOptions = {}): Promise<NodeApi> {
  const worker = new Worker(new URL('./sim-worker.ts', import.meta.url), { type: 'module' });
  const send = (msg: ToWorker) => worker.postMessage(msg);
  const events = new Emitter<{ event: RoomEvent }>();
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  let snapshot: Extract<FromWorker, { type: 'snapshot' }> | null = null;
  let nextId = 1;
  const ready = new Promise<Extract<FromWorker, { type: 'ready' }>>((resolve, reject) => {
    worker.onerror = (e) => reject(new Error(`simulated room failed: ${e.message}`));
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const msg = e.data;
      if (msg.type === 'ready') resolve(msg);
      else if (msg.type === 'snapshot') snapshot = msg;
      else if (msg.type === 'event') events.emit('event', msg.event);
      else if (msg.type === 'reply') {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.ok) p?.resolve(msg.result);
        else p?.reject(new Error(msg.error));
      }
    };
  });
  send({ type: 'start', size, churn: options.churn ?? false, seed: options.seed ?? 1 });
  const info = await ready;
  const call = <T>(method: string, ...args: unknown[]): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      send({ type: 'call', id, method, args });
    });
  const empty = { uptimeMs: 0, links: 0, linksViaServer: 0, linksViaOverlay: 0, bucketFill: [], records: 0, recordBytes: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, counters: {} };
  return {
    id: info.id,
    room: info.room,
    startedAt: info.startedAt,
    progress: () => snapshot?.progress ?? { step: 'signaling', done: [], times: {} },
    links: () => snapshot?.links ?? [],
    stats: () => snapshot?.stats ?? empty,
    onEvent: (listener) => events.on('event', listener),
    route: (key) => call('route', key),
    inspect: (node) => call('inspect', node),
    put: (key, value) => call('put', key, value),
    get: (key) => call('get', key),
    holders: (key) => call('holders', key),
    broadcast: (payload) => call('broadcast', payload),
    leave: async () => worker.terminate(),
  };
}
