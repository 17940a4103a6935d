// A simulated room in a Web Worker: the deterministic simulator (sim/) runs N real SelfmeshNodes over
// in-memory links, and the page attaches to one of them through NodeApi (see sim-room.ts). Virtual time
// runs as fast as the CPU allows while the room fills, then at the pace of the wall clock, so the
// nodes' timers (heartbeats, maintenance) look in the view as they would in a real room.
/// <reference lib="webworker" />
import { SimWorld, simNodeParts } from '../../sim/world.ts';
import { exponential } from '../core/rng.ts';
import { SelfmeshNode } from '../node.ts';
import { MemoryStore } from '../storage/memory-store.ts';
import { JoinTracker, nodeFacade } from './node-facade.ts';
import type { NodeApi, RoomEvent } from './node-api.ts';

export type ToWorker =
  | { type: 'start'; size: number; churn: boolean; seed: number }
  | { type: 'call'; id: number; method: string; args: unknown[] };

export type FromWorker =
  | { type: 'ready'; id: string; room: string; startedAt: number }
  | { type: 'snapshot'; progress: ReturnType<NodeApi['progress']>; links: ReturnType<NodeApi['links']>; stats: ReturnType<NodeApi['stats']>; size: number }
  | { type: 'event'; event: RoomEvent }
  | { type: 'reply'; id: number; ok: boolean; result?: unknown; error?: string };

const post = (msg: FromWorker) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(msg);
const CALLS = new Set(['route', 'inspect', 'put', 'get', 'holders', 'broadcast']);

let api: (NodeApi & { eventLog(): RoomEvent[] }) | null = null;

function buildWorld(seed: number): SimWorld {
  return new SimWorld({
    seed,
    traceFrames: false,
    createNode: (parts) => {
      const node = new SelfmeshNode(simNodeParts(parts, new MemoryStore()));
      return { overlay: node.overlay, app: node, start: () => node.start(), halt: () => node.stop(false) };
    },
  });
}

async function run({ size, churn, seed }: { size: number; churn: boolean; seed: number }): Promise<void> {
  const world = buildWorld(seed);
  const { sim } = world;
  const wallStart = Date.now();
  const simStart = sim.now();
  const toWall = (t: number) => wallStart + (t - simStart);
  const first = world.addNode();
  const node = first.app as SelfmeshNode;
  const progress = new JoinTracker(sim);
  api = nodeFacade({ node, room: `sim-${size}`, clock: sim, progress });
  api.onEvent((event) => post({ type: 'event', event: { ...event, at: toWall(event.at) } }));
  await world.startJoin(first).then(() => undefined);
  post({ type: 'ready', id: node.id, room: `sim-${size}`, startedAt: toWall(node.startedAt) });
  for (const step of ['signaling', 'first-link', 'joined'] as const) progress.done(step);

  // The room fills at 20 joins per simulated second; churn then replaces nodes now and then.
  let added = 1;
  const addMore = () => {
    if (added >= size) return progress.done('table-filled');
    added++;
    void world.startJoin(world.addNode());
    sim.setTimeout(addMore, 50);
  };
  sim.setTimeout(addMore, 50);
  if (churn) {
    const churnTick = () => {
      const victim = world.randomJoined();
      if (added >= size && victim && victim.id !== node.id) {
        if (world.rng.next() < 0.5) world.crash(victim.id);
        else void world.leave(victim.id);
        void world.startJoin(world.addNode());
      }
      sim.setTimeout(churnTick, exponential(world.rng, 4_000));
    };
    sim.setTimeout(churnTick, 4_000);
  }
  let lastSnapshot = 0;
  for (;;) {
    const filling = added < size;
    // While filling, run ahead in large slices; afterwards keep virtual time level with the wall clock.
    const lag = toWall(sim.now()) - Date.now();
    if (filling || lag < 0) await sim.runFor(filling ? 200 : Math.min(200, -lag + 20));
    if (Date.now() - lastSnapshot > 250) {
      lastSnapshot = Date.now();
      const links = api.links().map((l) => ({ ...l, openedAt: toWall(l.openedAt) }));
      post({ type: 'snapshot', progress: api.progress(), links, stats: api.stats(), size: world.liveJoined.length });
    }
    await new Promise((resolve) => setTimeout(resolve, filling ? 0 : 10));
  }
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === 'start') {
    void run(msg);
    return;
  }
  if (!api || !CALLS.has(msg.method)) {
    post({ type: 'reply', id: msg.id, ok: false, error: api ? `no method ${msg.method}` : 'room not ready' });
    return;
  }
  try {
    const fn = (api as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[msg.method]!;
    post({ type: 'reply', id: msg.id, ok: true, result: await fn(...msg.args) });
  } catch (err) {
    post({ type: 'reply', id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
