// The link lab's node (`?lab`): identity from sessionStorage, the signaling URL and room from the page
// URL, and `window.selfmesh` for tests and the console. Building the node itself is `buildBootstrapNode`;
// the lead swaps that one call for src/node.ts when the full composition exists.
import SimplePeer from 'simple-peer/simplepeer.min.js';
import { systemClock } from '../core/clock.ts';
import type { Id } from '../core/id.ts';
import { ed25519Scheme } from '../core/identity.ts';
import { cryptoRng } from '../core/rng.ts';
import type { SimplePeerConstructor } from '../transport/webrtc-connector.ts';
import type { WebSocketConstructor } from '../transport/signaling-client.ts';
import { envelopeFromWire, envelopeToWire, type WireEnvelope } from '../transport/signal-envelope.ts';
import { buildBootstrapNode, type BootstrapNode } from './bootstrap-node.ts';
import { loadOrCreateIdentity } from './identity-store.ts';
import { rttSamples, throughput, transferCheck } from './test-methods.ts';
import { roomFromHash, signalUrlFor } from './room-url.ts';

export function boot(): BootstrapNode {
  const clock = systemClock();
  const rng = cryptoRng();
  const { room, invalid } = roomFromHash(location.hash);
  if (invalid !== null) console.warn(`selfmesh: room name "${invalid}" is invalid; joined "${room}"`);
  const auto = new URLSearchParams(location.search).get('auto');
  const node = buildBootstrapNode({
    identity: loadOrCreateIdentity(sessionStorage, rng),
    scheme: ed25519Scheme,
    clock,
    rng,
    signalUrl: signalUrlFor(location),
    room,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    SimplePeer: SimplePeer as unknown as SimplePeerConstructor,
    autoLinks: auto === null ? 3 : Number(auto) || 0,
  });
  (globalThis as unknown as { selfmesh: SelfmeshTestApi }).selfmesh = testApi(node, clock);
  addEventListener('pagehide', () => node.close());
  return node;
}

export type SelfmeshTestApi = ReturnType<typeof testApi>;

/** `window.selfmesh`: plain-data helpers for tests and benchmarks driving the tab through playwright. */
function testApi(node: BootstrapNode, clock: ReturnType<typeof systemClock>) {
  const pendingOffers: Array<() => void> = [];
  return {
    id: node.id,
    room: node.room,
    links: () => node.links(),
    stats: () => node.stats(),
    refusals: () => [...node.refusals],
    connect: (peer: Id) => node.connect(peer),
    request: (peer: Id, method: string, body: unknown) => node.rpc(peer).request(method, body),
    transfer: (peer: Id, size: number, seed: number) => transferCheck(node.rpc(peer), size, seed, clock),
    rtt: (peer: Id, count: number) => rttSamples(node.rpc(peer), count, clock),
    throughput: (peer: Id, messageBytes: number, durationMs: number, window = 3) =>
      throughput(node.rpc(peer), messageBytes, durationMs, clock, window),
    /** Timed link setup (offer to open), for the benchmark. */
    timedConnect: async (peer: Id) => {
      const start = clock.now();
      await node.connect(peer);
      return clock.now() - start;
    },
    disconnect: (peer: Id) =>
      node.links().some((l) => l.id === peer) && node.rpc(peer).link.close('asked to'),
    /** An offer in wire form, not sent: a test may tamper with it and publish it itself. */
    makeOffer: async (peer: Id): Promise<WireEnvelope> => {
      const offer = await node.connector.offer(peer, 'server');
      pendingOffers.push(offer.cancel);
      offer.link.catch(() => {});
      return envelopeToWire(offer.envelope);
    },
    /** Publishes a (possibly tampered) wire envelope into the room, as the signaling client would. */
    publishSignal: (wire: WireEnvelope) => node.signaling.sendSignal(node.room, envelopeFromWire(wire)),
    cancelOffers: () => pendingOffers.splice(0).forEach((cancel) => cancel()),
    signalingOpen: () => node.signaling.isOpen,
    /** The node itself, for debugging from the console. */
    node,
  };
}
