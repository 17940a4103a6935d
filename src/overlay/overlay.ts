// The overlay façade: a Kademlia-style structured overlay over live links. It takes everything it uses
// as parameters (identity, connector, clock, randomness), so the same code runs in a tab, in Node and in
// the simulator. The signaling server is only reached through `bootstrap`, for the first links.
import type * as v from 'valibot';
import type { Clock } from '../core/clock.ts';
import { Counters } from '../core/counters.ts';
import { Emitter } from '../core/emitter.ts';
import { SelfmeshError } from '../core/errors.ts';
import { idWord, type Id } from '../core/id.ts';
import type { Identity, SignatureScheme } from '../core/identity.ts';
import type { Rng } from '../core/rng.ts';
import type { Connector, Link } from '../transport/link.ts';
import { MethodTable } from '../transport/methods.ts';
import { Rpc, type RequestOptions, type RpcOptions } from '../transport/rpc.ts';
import { DEFAULT_OVERLAY_CONFIG, type OverlayConfig } from './config.ts';
import { Contacts } from './contacts.ts';
import type { OverlayContext, ReadyTold, OverlayEvents } from './context.ts';
import { FailureDetector } from './failure-detector.ts';
import { closestHandler, join, linkFarBuckets } from './join.ts';
import { leave, type BeforeLeave } from './leave.ts';
import { Maintenance } from './maintenance.ts';
import { ClosestReply, ClosestRequest, Empty, LeaveNotice, METHOD, ReadyBody } from './messages.ts';
import { Stabilizer } from './neighbourhood.ts';
import { OverlaySignaling } from './overlay-signaling.ts';
import { Recovery } from './recovery.ts';
import { Router, type RouteOptions, type RouteResult, type RoutedHandler } from './route.ts';
import { RoutingTable, type Peer } from './routing-table.ts';
import * as valibot from 'valibot';

export type { OverlayEvents } from './context.ts';
export type { RouteOptions, RouteResult, RoutedContext, RoutedHandler } from './route.ts';

/** Asks the signaling server for links: `count` to any members, or to the given members. */
export type Bootstrap = (request: { count: number; targets?: Id[] }) => Promise<Link[]>;

export interface OverlayOptions {
  identity: Identity;
  scheme: SignatureScheme;
  connector: Connector;
  clock: Clock;
  rng: Rng;
  counters?: Counters;
  config?: Partial<OverlayConfig>;
  bootstrap?: Bootstrap;
  /** The node's method table, shared with the layers above (a new one if absent). */
  methods?: MethodTable;
}

export interface LinkInfo {
  id: Id;
  via: Link['via'];
  bucket: number;
  suspected: boolean;
  linkedAt: number;
  /** The link's round trip: the least of its recent requests', or of the other end's pings (see Rpc.rttMs); null until one is known. */
  rttMs: number | null;
}

export interface OverlayStats {
  links: number;
  neighbours: number;
  contacts: number;
  linksViaServer: number;
  linksViaOverlay: number;
  routesForwarded: number;
  dropped: number;
}

/** How long join waits for its links to acknowledge that it is ready. */
const READY_WAIT_MS = 2_000;
/**
 * Links asked `ov.ready` at the end of a join, and named in it (closest first): a few more than the
 * neighbourhood, which the join linked.
 */
const READY_NAMES = 12;

type State = 'idle' | 'joining' | 'running' | 'stopped';

/** Reasons for closing a link ourselves: the far end is not suspected because of them. */
const OWN_CLOSE = new Set(['leave', 'evicted', 'duplicate', 'stopped', 'refused', 'disconnect', 'replaced']);

export class Overlay {
  readonly id: Id;
  readonly events = new Emitter<OverlayEvents>();
  readonly methods: MethodTable;
  readonly counters: Counters;
  readonly config: OverlayConfig;
  private readonly ctx: OverlayContext;
  private readonly table: RoutingTable;
  private readonly contacts: Contacts;
  private readonly router: Router;
  private readonly signaling: OverlaySignaling;
  private readonly detector: FailureDetector;
  private readonly maintenance: Maintenance;
  private readonly stabilizer: Stabilizer;
  private readonly recovery: Recovery;
  private readonly beforeLeave: BeforeLeave[] = [];
  private state: State = 'idle';
  private lastNeighbours: Id[] = [];
  private neighbourCheckQueued = false;
  private earlyReady = new Set<Id>();
  /** Every link's Rpc reads the same options (an Rpc keeps its options object). */
  private rpcOptions: RpcOptions | undefined;
  /** A link closed under its peer (one function for every link's Rpc, not a closure per link). */
  private readonly onLinkClose = (rpc: Rpc, reason: string): void => {
    const peer = this.table.get(rpc.link.remoteId);
    if (peer?.rpc === rpc) this.detach(peer, reason);
  };

  constructor(private readonly opts: OverlayOptions) {
    this.id = opts.identity.id;
    this.counters = opts.counters ?? new Counters();
    this.config = { ...DEFAULT_OVERLAY_CONFIG, ...opts.config };
    this.methods = opts.methods ?? new MethodTable();
    this.table = new RoutingTable(this.id, this.config);
    this.contacts = new Contacts(this.id);
    const isRunning = () => this.state === 'running' || this.state === 'joining';
    const isJoined = () => this.state === 'running';
    this.ctx = {
      self: this.id, identity: opts.identity, scheme: opts.scheme, connector: opts.connector, clock: opts.clock,
      rng: opts.rng, counters: this.counters, config: this.config, table: this.table, contacts: this.contacts,
      methods: this.methods, events: this.events,
      addLink: (link, ready) => this.addLink(link, ready),
      dropLink: (id, reason) => this.dropLink(id, reason),
      reportFailure: (id) => this.detector.reportFailure(id),
      drop: (reason) => this.counters.inc(`overlay.dropped.${reason}`),
      get running() {
        return isRunning();
      },
      get joined() {
        return isJoined();
      },
    };
    this.router = new Router(this.ctx);
    this.signaling = new OverlaySignaling(this.ctx, this.router);
    this.detector = new FailureDetector(this.ctx);
    this.stabilizer = new Stabilizer(this.ctx, this.signaling);
    this.stabilizer.deadCheck = (id) => this.detector.isRecentlyDead(id);
    this.recovery = new Recovery(this.ctx, this.router, this.signaling, this.stabilizer, opts.bootstrap);
    this.maintenance = new Maintenance(this.ctx, this.router, this.signaling, (targets) => this.recovery.recover(targets), this.stabilizer);
    this.recovery.maintenance = this.maintenance;
    this.maintenance.deadCheck = (id) => this.detector.isRecentlyDead(id);
    const onReady = (from: Id, neighbours?: Id[]) => {
      const peer = this.table.get(from);
      if (peer) {
        peer.joining = false;
        if (neighbours) peer.theirNeighbours = { ids: new Set(neighbours), at: this.opts.clock.now() };
        this.stabilizer.peerReady(from);
      }
      // Frames that arrived before the link was taken in are delivered while its Rpc is being built,
      // before the peer is in the table: remember the ready for addLink (which clears the set, so it
      // never holds more than one link's worth).
      else this.earlyReady.add(from);
    };
    // Asked (and answered) at the end of a join; told (one frame) on each link a joined node takes.
    this.methods.register(METHOD.ready, ReadyBody, (body, call) => (onReady(call.from, body?.neighbours), null));
    this.methods.registerNotify(METHOD.readyNotice, Empty, (_body, call) => onReady(call.from));
    // A suspected neighbour no longer counts: its replacement must be found (and introduced) now.
    this.events.on('suspected', () => this.queueNeighbourCheck());
    const closest = closestHandler(this.ctx);
    this.router.register(METHOD.join, ClosestRequest, closest);
    this.router.register(METHOD.closest, ClosestRequest, closest);
    this.methods.registerNotify(METHOD.leave, LeaveNotice, (notice, call) => this.onLeaveNotice(call.from, notice.neighbours));
  }

  get joined(): boolean {
    return this.state === 'running';
  }

  /**
   * Joins the overlay: takes links from the bootstrap if it has none, finds its neighbourhood and
   * fills its buckets. A node whose bootstrap returns no link is the first one: it is joined, alone.
   */
  async join(): Promise<void> {
    if (this.state !== 'idle') throw new SelfmeshError('REFUSED', `cannot join in state ${this.state}`);
    this.state = 'joining';
    if (this.table.size === 0 && this.opts.bootstrap) {
      for (const link of await this.opts.bootstrap({ count: this.config.bootstrapLinks })) this.addLink(link);
    }
    const joinedSome = this.table.size > 0;
    try {
      if (joinedSome) await join(this.ctx, this.stabilizer);
    } finally {
      if (this.state === 'joining') this.state = 'running';
    }
    if (joinedSome && this.state === 'running') linkFarBuckets(this.maintenance).catch(() => this.counters.inc('overlay.join.farLinksFailed'));
    // From now on we may be responsible for keys: peers may route to us. Join resolves once our closest
    // links have heard it (or a short wait passed), so that a joined node is one that routes reach: a
    // route to a key near us comes through them. The other links (the bootstrap's, far ones) are told
    // in a notice, which arrives as soon, without a reply to wait for or the names they have no use for.
    const named = this.table.closestPeers(this.id, READY_NAMES);
    const ready = { neighbours: named };
    const told = named.map((id) => this.table.get(id)!.rpc.request(METHOD.ready, ready, { timeoutMs: READY_WAIT_MS }));
    for (const peer of this.table.peers.values()) if (!named.includes(peer.id)) peer.rpc.notify(METHOD.readyNotice, null);
    this.detector.start();
    this.maintenance.start();
    // The first round comes soon: it fills the holes join left and cross-checks the neighbourhood.
    this.maintenance.scheduleRepair();
    await Promise.allSettled(told);
    this.events.emit('join', { id: this.id, neighbours: this.neighbors() });
  }

  /**
   * Takes a link obtained outside the overlay (the signaling server) or by the connector. `ready`: what
   * its signals said (overlay links); without it, readiness is told in a frame of its own.
   */
  addLink(link: Link, ready?: ReadyTold): boolean {
    const { clock } = this.opts;
    const id = link.remoteId;
    if (this.state === 'stopped' || id === this.id || !link.isOpen) {
      link.close('refused');
      return false;
    }
    const existing = this.table.get(id);
    if (existing && existing.link.isOpen) {
      this.counters.inc('overlay.links.duplicate');
      link.close('duplicate');
      return false;
    }
    if (existing) this.detach(existing, 'replaced');
    if (this.table.size >= this.config.maxLinks && !this.signaling.makeRoom(this.table.fitsNeighbourhood(id))) {
      this.counters.inc('overlay.connect.refusedFull');
      link.close('refused');
      return false;
    }
    const placement = this.table.placement(id);
    const now = clock.now();
    // Both ends start from the same assumption (by how the link was signaled), so only a change is told:
    // a bootstrap link is the joiner's way in, not a place in its table (it may be evicted first); an
    // overlay link is needed unless its answer said otherwise.
    const assumed = link.via !== 'server';
    const answererNeeds = ready?.answererNeeds ?? assumed;
    const peer: Peer = {
      id, link, rpc: new Rpc(link, this.methods, (this.rpcOptions ??= { clock, counters: this.counters })),
      bucket: placement.bucket, slot: placement.slot, linkedAt: now,
      lastHeard: now, lastPingAt: now, missedPings: 0, pingInFlight: false, suspected: false,
      theyNeed: ready?.answered ? assumed : answererNeeds, toldNeed: ready?.answered ? answererNeeds : assumed, joining: true,
      // Every field a peer ever gets, set now: peers of one shape keep the table's loops monomorphic.
      neighbour: false, theirNeighbours: undefined, hi: idWord(id, 0), lo: idWord(id, 1),
    };
    peer.rpc.heard = peer;
    peer.rpc.onLinkClose = this.onLinkClose;
    this.table.add(peer);
    if (this.earlyReady.has(id) || ready?.they) peer.joining = false;
    this.earlyReady.clear();
    if (this.state === 'running' && !ready?.we) peer.rpc.notify(METHOD.readyNotice, null);
    this.contacts.remove(id);
    this.counters.inc(link.via === 'server' ? 'overlay.linksViaServer' : 'overlay.linksViaOverlay');
    this.events.emit('linkUp', { id, via: link.via });
    this.queueNeighbourCheck();
    return true;
  }

  /** Routes a message to the node responsible for key; resolves with its reply and the path. */
  route(key: Id, message: { method: string; body: unknown }, options?: RouteOptions): Promise<RouteResult> {
    return this.router.route(key, message.method, message.body, options);
  }

  /** The n nodes closest to key, as known by the node responsible for it (closest first). */
  async findClosest(key: Id, n: number): Promise<Id[]> {
    const result = await this.router.route(key, METHOD.closest, { n });
    const parsed = valibot.safeParse(ClosestReply, result.reply);
    if (!parsed.success) throw new SelfmeshError('BAD_MESSAGE', 'malformed closest reply');
    return parsed.output.closest.slice(0, n);
  }

  /** The closest linked nodes (the neighbourhood), closest first. */
  neighbors(): Id[] {
    return [...this.table.neighbours()];
  }

  links(): LinkInfo[] {
    return [...this.table.peers.values()].map((p) => ({ id: p.id, via: p.link.via, bucket: p.bucket, suspected: p.suspected, linkedAt: p.linkedAt, rttMs: p.rpc.rttMs }));
  }

  /**
   * Links the layers above rely on beyond the neighbourhood (storage: the fellow holders of its keys):
   * checked as often as neighbour links, so that their silent crashes show as soon.
   */
  watch(ids: Iterable<Id>): void {
    this.detector.relyOn(ids);
  }

  /** Whether a linked peer is in doubt: suspected, or its last ping went unanswered. */
  inDoubt(id: Id): boolean {
    const peer = this.table.get(id);
    return peer !== undefined && (peer.suspected || peer.missedPings > 0);
  }

  /** The next hop this node would pick for key (undefined if it is responsible): for inspection. */
  nextHop(key: Id): Id | undefined {
    return this.table.nextHops(key, 1)[0]?.id;
  }

  stats(): OverlayStats {
    const c = this.counters.snapshot();
    let dropped = 0;
    for (const [name, value] of Object.entries(c)) if (name.startsWith('overlay.dropped.')) dropped += value;
    return {
      links: this.table.size,
      neighbours: this.table.neighbours().length,
      contacts: this.contacts.size,
      linksViaServer: this.counters.get('overlay.linksViaServer'),
      linksViaOverlay: this.counters.get('overlay.linksViaOverlay'),
      routesForwarded: this.counters.get('overlay.route.forwarded'),
      dropped,
    };
  }

  /** A method delivered at the node responsible for a key (for the storage layer and above). */
  registerRouted<T>(method: string, schema: v.GenericSchema<unknown, T>, handler: RoutedHandler<T>): void {
    this.router.register(method, schema, handler);
  }

  /** A request straight to a linked peer. */
  request(peer: Id, method: string, body: unknown, options?: RequestOptions): Promise<unknown> {
    const entry = this.table.get(peer);
    if (!entry) return Promise.reject(new SelfmeshError('UNREACHABLE', `not linked to ${peer.slice(0, 8)}`));
    return entry.rpc.request(method, body, options);
  }

  notify(peer: Id, method: string, body: unknown): void {
    this.table.get(peer)?.rpc.notify(method, body);
  }

  /** Links to a node through the overlay (signaled end to end); true once linked. */
  connect(target: Id): Promise<boolean> {
    return this.signaling.connect(target);
  }

  /** Closes the link to a peer on purpose (the peer is not suspected because of it). */
  /** Whether there is a live link to this peer (cheap: no copy of the table). */
  isLinked(peer: Id): boolean {
    return this.table.has(peer);
  }

  disconnect(peer: Id): void {
    this.dropLink(peer, 'disconnect');
  }

  /** Runs before a deliberate leave, while links are still up (e.g. handing records over). */
  onBeforeLeave(hook: BeforeLeave): () => void {
    this.beforeLeave.push(hook);
    return () => {
      const i = this.beforeLeave.indexOf(hook);
      if (i >= 0) this.beforeLeave.splice(i, 1);
    };
  }

  /** Leaves on purpose: hooks first, then a notice to every peer, then the links close. */
  async leave(handoverMs = 5_000): Promise<void> {
    if (this.state === 'stopped') return;
    this.detector.halt();
    this.maintenance.halt();
    await leave(this.ctx, this.beforeLeave, handoverMs);
    this.state = 'stopped';
    this.events.emit('leave', { id: this.id });
  }

  /** Stops at once without telling anyone (a crash, or the end of a test); `closeLinks` closes them too. */
  stop(closeLinks = false): void {
    this.detector.halt();
    this.maintenance.halt();
    this.state = 'stopped';
    if (closeLinks) for (const id of [...this.table.peers.keys()]) this.dropLink(id, 'stopped');
  }

  /** Runs one maintenance round now (tests and the simulator use it). */
  maintain(): Promise<void> {
    return this.maintenance.round();
  }

  private dropLink(id: Id, reason: string): void {
    const peer = this.table.get(id);
    if (!peer) return;
    this.detach(peer, reason);
    peer.link.close(reason);
  }

  private detach(peer: Peer, reason: string): void {
    if (this.table.get(peer.id) !== peer) return;
    this.table.remove(peer.id);
    peer.rpc.close(reason);
    this.events.emit('linkDown', { id: peer.id, reason });
    this.queueNeighbourCheck();
    if (this.state === 'stopped' || OWN_CLOSE.has(reason)) return;
    if (reason !== 'dead' && !this.detector.isRecentlyDead(peer.id)) this.contacts.add(peer.id);
    if (reason !== 'dead' && reason !== 'broken') this.detector.onLinkLost(peer.id);
    this.recovery.noteLoss(peer.id);
    // Only a lost neighbour or the last link of a slot leaves a hole worth an early round.
    if (this.lastNeighbours.includes(peer.id) || !this.table.slotCovered(peer.bucket, peer.slot)) this.maintenance.scheduleRepair();
  }

  private onLeaveNotice(from: Id, neighbours: Id[]): void {
    if (!this.table.has(from)) return;
    this.detector.leaving.add(from);
    this.contacts.remove(from);
    this.contacts.addAll(neighbours);
    this.events.emit('leave', { id: from });
    this.maintenance.scheduleRepair();
  }

  private queueNeighbourCheck(): void {
    if (this.neighbourCheckQueued) return;
    this.neighbourCheckQueued = true;
    void Promise.resolve().then(() => {
      this.neighbourCheckQueued = false;
      const now = this.table.neighbours();
      const before = new Set(this.lastNeighbours);
      const after = new Set(now);
      const added = now.filter((id) => !before.has(id));
      const removed = this.lastNeighbours.filter((id) => !after.has(id));
      if (added.length === 0 && removed.length === 0) return;
      this.lastNeighbours = [...now];
      if (added.length > 0 && this.state !== 'stopped') this.stabilizer.queueAnnounce(added);
      // A neighbour lost (not merely displaced by a closer one) leaves a gap to refill.
      if (removed.some((id) => !this.table.get(id) || this.table.get(id)!.suspected)) this.maintenance.scheduleRepair();
      this.events.emit('neighbourhood', { neighbours: [...now], added, removed });
    });
  }
}
