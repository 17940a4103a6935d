// Builds the node of this tab: identity from sessionStorage (a reload keeps it), WebRTC links through
// simple-peer, records in IndexedDB, the signaling server for the first links only.
import SimplePeer from 'simple-peer/simplepeer.min.js';
import { systemClock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import { createIdentity, ed25519Scheme, exportIdentity, type Identity } from '../core/identity.ts';
import { cryptoRng, type Rng } from '../core/rng.ts';
import { cachingScheme } from '../core/verify-cache.ts';
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
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { importIdentity } from '../core/identity.ts';
import { readManifestFields } from '../components/publish.ts';
import { NodeComponents } from '../node/components.ts';
import { componentFacade, publishTampered, type ShippedComponent } from './node-facade.ts';
import type { ComponentService } from './node-api.ts';
import chatV1 from '../components/shipped/chat-v1.js?raw';
import chatV2 from '../components/shipped/chat-v2.js?raw';
import kvV1 from '../components/shipped/kv-v1.js?raw';
import { Counters } from '../core/counters.ts';

export type BrowserNodeApi = NodeApi & {
  eventLog(): RoomEvent[];
  node: SelfmeshNode;
  componentService: ComponentService;
  /** For tests: the components this node runs, the chat, and publishing shipped code. */
  components(): ReturnType<ComponentService['list']>;
  chat: ComponentService['chat'];
  publish(name: string, version: string): ReturnType<ComponentService['publishShipped']>;
  nodeComponents: NodeComponents;
  /** For the tamper test: stores a version of `name@from` whose code changed after signing. */
  publishTampered(name: string, from: string, version: string): Promise<void>;
};

/**
 * The room's trust (docs/decisions.md, "Who a room trusts"): the publisher keys in the link's `trust`
 * parameter; a link without one makes this browser the room's creator, trusting its own key for the
 * room (kept in localStorage, so the creator's other tabs can publish too).
 */
function roomTrust(room: string, rng: Rng): { trusted: string[]; publisher: Identity | null } {
  const param = new URLSearchParams(location.search).get('trust');
  const named = (param ?? '').split(',').map((k) => k.trim().toLowerCase()).filter((k) => /^[0-9a-f]{64}$/.test(k));
  const slot = `selfmesh.publisher.${room}`;
  let publisher: Identity | null = null;
  try {
    const stored = localStorage.getItem(slot);
    if (stored) publisher = importIdentity(JSON.parse(stored) as Parameters<typeof importIdentity>[0]);
  } catch {
    publisher = null;
  }
  if (named.length > 0) return { trusted: named, publisher };
  if (!publisher) {
    publisher = createIdentity(rng);
    localStorage.setItem(slot, JSON.stringify(exportIdentity(publisher)));
  }
  return { trusted: [bytesToHex(publisher.publicKey)], publisher };
}

/** Fills `out` (the facade reads it when asked), so the join does not wait for it. */
async function shippedComponents(out: Map<string, ShippedComponent>): Promise<void> {
  for (const text of [chatV1, chatV2, kvV1]) {
    const source = utf8ToBytes(text);
    // Our own code, imported once to read what it declares.
    const fields = await readManifestFields(source, undefined, 'blob');
    out.set(`${fields.name}@${fields.version}`, { source, fields });
  }
}

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
  // A record comes back from every replica of a read: check each signature once (verify-cache.ts).
  const scheme = cachingScheme(ed25519Scheme);
  // One set of counters for the node and its connector: `selfmesh.stats()` shows refused signals too.
  const counters = new Counters();
  const connector = new WebrtcConnector({
    identity,
    scheme,
    clock,
    SimplePeer: SimplePeer as unknown as SimplePeerConstructor,
    counters,
  });
  const client = new SignalingClient({ url: signalUrl, id: identity.id, WebSocket: WebSocket as unknown as WebSocketConstructor, clock, rng });
  const node = new SelfmeshNode({
    identity,
    scheme,
    clock,
    rng,
    connector,
    counters,
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
  const { trusted, publisher } = roomTrust(room, rng);
  const nodeComponents = new NodeComponents(node, { trust: () => ({ trustedPublishers: trusted }), urlKind: 'blob' });
  const shipped = new Map<string, ShippedComponent>();
  // Without them (an import refused), the tab still joins and runs what the room publishes.
  const shippedReady = shippedComponents(shipped).catch((e: unknown) => console.warn('selfmesh: shipped components unavailable', e));
  const componentService = componentFacade({
    components: nodeComponents,
    publisher,
    shipped,
    readFields: (code) => readManifestFields(code, undefined, 'blob'),
    author: identity.id.slice(0, 8),
  });

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
  node.overlay.events.on('joinPhase', ({ phase }) => progress.phase(phase));
  // The table counts as filled once the neighbourhood is linked, or once joining has stopped adding
  // links for a moment (a small room has fewer nodes than a neighbourhood).
  let settle: ReturnType<typeof setTimeout> | undefined;
  const checkFilled = () => {
    if (!progress.get().done.includes('joined') || progress.get().done.includes('table-filled')) return;
    clearTimeout(settle);
    if (node.overlay.stats().links >= node.overlay.config.neighbourhoodSize) progress.done('table-filled');
    else settle = setTimeout(() => progress.done('table-filled'), 1_500);
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
    // Each tab runs the shipped components from the DHT, through the verifying loader.
    let left = false;
    addEventListener('pagehide', () => (left = true));
    await shippedReady;
    for (const id of ['chat@1.0.0', 'kv@1.0.0']) {
      const s = shipped.get(id);
      void nodeComponents.ensure(id.split('@')[0]!, s && { ...s, publisher }, () => left);
    }
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
  return Object.assign(api, {
    node,
    componentService,
    nodeComponents,
    components: () => componentService.list(),
    chat: componentService.chat,
    publish: (name: string, version: string) => componentService.publishShipped(name, version),
    publishTampered: async (name: string, from: string, version: string) => {
      const s = shipped.get(`${name}@${from}`);
      if (!s || !publisher) throw new Error(`cannot tamper with ${name}@${from} here`);
      await publishTampered(nodeComponents, publisher, s, version);
    },
  });
}
