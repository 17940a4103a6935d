// Builds the node of this tab: identity from sessionStorage (a reload keeps it), WebRTC links through
// simple-peer, records in IndexedDB, the signaling server for the first links only.
import SimplePeer from 'simple-peer/simplepeer.min.js';
import { systemClock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import { createIdentity, ed25519Scheme, exportIdentity, type Identity } from '../core/identity.ts';
import { cryptoRng, type Rng } from '../core/rng.ts';
import { SelfmeshNode } from '../node.ts';
import { IdbStore } from '../storage/idb-store.ts';
import { holdNodeLock, recoverOrphans } from '../storage/orphans.ts';
import { ServerBootstrap } from '../transport/server-bootstrap.ts';
import { SignalingClient, type WebSocketConstructor } from '../transport/signaling-client.ts';
import { WebrtcConnector, type SimplePeerConstructor } from '../transport/webrtc-connector.ts';
import { IDENTITY_KEY, loadOrCreateIdentity } from './identity-store.ts';
import { JoinTracker, nodeFacade } from './node-facade.ts';
import type { NodeApi, RoomEvent } from './node-api.ts';
import { registerTestMethods } from './test-methods.ts';

export type BrowserNodeApi = NodeApi & { eventLog(): RoomEvent[]; node: SelfmeshNode };

/**
 * The lock named after the node id says a tab is alive with it. A duplicated tab copies sessionStorage
 * and so the identity: when the lock is taken, this tab gets an identity of its own.
 */
async function lockedIdentity(rng: Rng): Promise<{ identity: Identity; release(): void }> {
  const locks = navigator.locks;
  let identity = loadOrCreateIdentity(sessionStorage, rng);
  if (!locks) return { identity, release: () => undefined };
  try {
    return { identity, ...(await holdNodeLock(locks, identity.id)) };
  } catch {
    identity = createIdentity(rng);
    sessionStorage.setItem(IDENTITY_KEY, JSON.stringify(exportIdentity(identity)));
    return { identity, ...(await holdNodeLock(locks, identity.id)) };
  }
}

export async function createBrowserNode(room: string, signalUrl: string): Promise<BrowserNodeApi> {
  const clock = systemClock();
  const rng = cryptoRng();
  const progress = new JoinTracker(clock);
  if (typeof RTCPeerConnection === 'undefined') {
    progress.fail('webrtc-unavailable', 'This browser has no WebRTC (RTCPeerConnection), so the tab cannot be a node.');
    throw new Error('WebRTC unavailable');
  }
  const { identity } = await lockedIdentity(rng);
  const connector = new WebrtcConnector({
    identity,
    scheme: ed25519Scheme,
    clock,
    SimplePeer: SimplePeer as unknown as SimplePeerConstructor,
  });
  const client = new SignalingClient({ url: signalUrl, id: identity.id, WebSocket: WebSocket as unknown as WebSocketConstructor, clock, rng });
  const node = new SelfmeshNode({
    identity,
    scheme: ed25519Scheme,
    clock,
    rng,
    connector,
    store: new IdbStore(identity.id),
    bootstrap: (request) => bootstrap.request(request),
    // One link through the server is enough to get in; the overlay signals the rest.
    overlay: { bootstrapLinks: 1 },
  });
  // Server links go through the node's (metered) connector like every other link.
  const bootstrap: ServerBootstrap = new ServerBootstrap({
    client,
    connector: node.connector,
    room,
    id: identity.id,
    clock,
    rng,
    onLink: (link) => node.overlay.addLink(link),
    wantLinks: 2,
    counters: node.counters,
    estimateSize: () => 1 + node.overlay.stats().links + node.overlay.stats().contacts,
    needsLinks: () => node.overlay.joined && node.overlay.links().length === 0,
  });
  registerTestMethods(node.methods);
  const api = nodeFacade({ node, room, clock, progress });

  let everOpen = false;
  client.on('open', () => {
    everOpen = true;
    progress.clearError();
    progress.done('signaling');
  });
  client.on('close', () => {
    if (!everOpen) progress.fail('server-unreachable', `Cannot reach the signaling server at ${signalUrl}; retrying.`);
  });
  node.overlay.events.on('linkUp', () => progress.done('first-link'));
  const checkFilled = () => {
    const { links, contacts } = node.overlay.stats();
    if (progress.get().done.includes('joined') && links >= Math.min(node.overlay.config.neighbourhoodSize, links + contacts)) {
      progress.done('table-filled');
    }
  };
  node.overlay.events.on('linkUp', checkFilled);
  bootstrap.start();
  addEventListener('pagehide', () => void node.leave());
  // Joining runs on while the page shows its progress.
  void (async () => {
    // The signaling connection must be open before the overlay asks it for links.
    if (!client.isOpen) await new Promise<void>((resolve) => client.once('open', () => resolve()));
    await node.start();
    progress.done('joined');
    checkFilled();
    const report = await recoverOrphans({
      selfId: identity.id,
      locks: navigator.locks,
      listDatabases: () => indexedDB.databases(),
      openStore: (id) => new IdbStore(id),
      deleteDatabase: (name) =>
        new Promise<void>((resolve, reject) => {
          const req = indexedDB.deleteDatabase(name);
          req.onsuccess = () => resolve();
          req.onerror = () => reject(req.error);
        }),
      republish: (record) => node.storage.republish(record),
    });
    if (report.records > 0) console.info(`selfmesh: put ${report.records} records of ${report.recovered.length} gone tabs back`);
  })().catch((e: unknown) => {
    console.error('selfmesh: join failed', e);
    progress.fail('other', `Joining failed: ${errorMessage(e)}`);
  });
  return Object.assign(api, { node });
}
