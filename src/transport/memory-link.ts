// In-memory links for the simulator and tests, driven by an injected Clock and Rng.
//
// What the network models, and why:
// - Latency: each link draws a base one-way delay once (a path has a stable RTT) plus a small jitter
//   per frame; frames stay in order, as on a WebRTC data channel (reliable, ordered).
// - Loss: a data channel never silently drops a frame inside an open link (SCTP retransmits), so a
//   "lost" frame here arrives late, after a retransmission delay, still in order. Losing whole links is
//   modelled by crashes and partitions, which close links the way a real data channel closes.
// - Crash: a crashed node goes silent; the far ends see `close` only after `deadLinkCloseMs`
//   (ICE consent freshness), so the overlay's failure detector has to find out first.
// - Partition: frames across it are lost and links across it close after `partitionCloseMs`; no new
//   link can be set up across it until it heals.
// - Duplication and reordering exist only to test robustness against a broken transport (default off).
// - Bandwidth is not modelled (bufferedAmount stays 0); bytes are counted per node.
import type { Clock } from '../core/clock.ts';
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { Rng } from '../core/rng.ts';
import type { Link, LinkEvents } from './link.ts';

export interface MemoryNetworkOptions {
  clock: Clock;
  rng: Rng;
  /** Draws a link's base one-way latency in ms. Default: 10 + exponential(mean 30), capped at 300. */
  latencyMs?: (rng: Rng) => number;
  /** Per-frame jitter, uniform in [0, jitterMs). */
  jitterMs?: number;
  /** Probability that a frame needs a retransmission (arrives `retransmitMs` late). */
  lossRate?: number;
  retransmitMs?: number;
  duplicateRate?: number;
  reorderRate?: number;
  deadLinkCloseMs?: number;
  partitionCloseMs?: number;
  /** Round trips a link setup (ICE + DTLS) takes once both envelopes have been carried. */
  handshakeRoundTrips?: number;
  /** Called for every delivered frame and link event, to hash the trace of a run. */
  trace?: (kind: string, a: Id, b: Id, n: number) => void;
}

type Listener<T> = (event: T) => void;

/**
 * The far end of a link whose other node runs in another simulator thread (sim/shard-bridge.ts). The
 * network computes each frame's delivery time as for a local pair and hands the frame over; the other
 * thread delivers it then. Every such time is at least one link latency ahead, which is what lets the
 * threads run a window of that length apart.
 */
export interface RemoteEnd {
  frame(at: number, frame: Uint8Array): void;
  close(at: number, reason: string): void;
}

/** Nodes held by other simulator threads: links to them are set up through this. */
export interface RemoteShards {
  holds(id: Id): boolean;
  /**
   * The handshake of an offer we made to a node there, once its answer came back: `done` gets our end
   * when the pair is up, or the reason it failed (the far side checks its fingerprints).
   */
  connect(
    offerer: Id, answerer: Id, via: Link['via'], offerFingerprint: string, answerFingerprint: string,
    done: (end: MemoryLink | null, failure?: 'BAD_SIGNATURE' | 'UNREACHABLE') => void,
  ): void;
}

/** An answerer waiting for its offerer's handshake. */
export interface AnswerWaiting {
  answerer: Id;
  fingerprint: string;
  resolve(link: MemoryLink): void;
  reject(e: unknown): void;
}

export class MemoryLink implements Link {
  isOpen = true;
  readonly bufferedAmount = 0;
  /** The other end; set by the network when the pair is made. */
  peer!: MemoryLink;
  private messageListeners: Listener<Uint8Array>[] = [];
  private closeListeners: Listener<{ reason: string }>[] = [];
  /** Frames that arrived before anyone listened (the owner attaches its RPC a tick after setup). */
  private early: Uint8Array[] | null = [];
  /** Delivery time of the last frame scheduled in this direction (keeps frames in order). */
  lastDeliveryAt = 0;
  baseLatencyMs = 0;
  /** The two nodes' states, kept here so that a frame needs no lookup by id. */
  localState!: NodeState;
  remoteState!: NodeState;
  /**
   * Frames sent on this end and not yet delivered, oldest first, in a ring (made on the first frame):
   * one timer per frame runs `deliverNext`, which takes the oldest. No closure per frame: at 10,000
   * nodes the frames in flight were a fifth of what the garbage collector had to copy.
   */
  inFlight: Array<Uint8Array | undefined> | null = null;
  inFlightHead = 0;
  inFlightCount = 0;
  /** A bound function, not an arrow: the build names arrows, which costs each link a property store. */
  readonly deliverNext: () => void;
  /** Set when the other end is in another simulator thread (then `peer` is unset). */
  remote: RemoteEnd | null = null;

  constructor(
    private readonly network: MemoryNetwork,
    readonly localId: Id,
    readonly remoteId: Id,
    readonly via: Link['via'],
  ) {
    this.deliverNext = network.deliverNext.bind(network, this);
  }

  send(frame: Uint8Array): void {
    if (!this.isOpen) throw new Error('link closed');
    this.network.transmit(this, frame);
  }

  close(reason = 'closed'): void {
    if (!this.isOpen) return;
    this.closeLocally(reason);
    this.network.closeRemoteEnd(this, reason);
  }

  on<K extends keyof LinkEvents>(type: K, listener: (event: LinkEvents[K]) => void): () => void {
    // bufferedAmount is always 0 here, so `drain` never fires: keeping its listeners would only cost memory.
    if (type === 'drain') return () => undefined;
    // Lists are replaced, not grown in place: exact-size arrays (a pushed-to array reserves 17 slots,
    // and so does a spread into a literal: a simulated node holds dozens of links), and a listener
    // removed during an emit is safe.
    const l = listener as unknown as Listener<Uint8Array> & Listener<{ reason: string }>;
    if (type === 'message') this.messageListeners = appended(this.messageListeners, l);
    else this.closeListeners = appended(this.closeListeners, l);
    if (type === 'message' && this.early) {
      const early = this.early;
      this.early = null;
      for (const frame of early) this.emitMessage(frame);
    }
    return () => {
      if (type === 'message') this.messageListeners = this.messageListeners.filter((x) => x !== l);
      else this.closeListeners = this.closeListeners.filter((x) => x !== l);
    };
  }

  /** @internal called by the network */
  emitMessage(frame: Uint8Array): void {
    if (!this.isOpen) return;
    if (this.early) {
      this.early.push(frame);
      return;
    }
    for (const l of this.messageListeners) l(frame);
  }

  /** @internal closes this end only and tells its owner */
  closeLocally(reason: string): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.early = null;
    this.network.forget(this);
    for (const l of this.closeListeners) l({ reason });
  }
}

/** A copy of `list` with `x` at the end, of exactly that length. */
function appended<T>(list: readonly T[], x: T): T[] {
  const out = new Array<T>(list.length + 1);
  for (let i = 0; i < list.length; i++) out[i] = list[i]!;
  out[list.length] = x;
  return out;
}

/** Appends a frame to a link's ring of frames in flight (a power of two long, doubled when full). */
function enqueue(link: MemoryLink, frame: Uint8Array): void {
  let ring = link.inFlight;
  if (ring === null) ring = link.inFlight = new Array<Uint8Array | undefined>(4).fill(undefined);
  else if (link.inFlightCount === ring.length) {
    const grown = new Array<Uint8Array | undefined>(2 * ring.length).fill(undefined);
    for (let i = 0; i < ring.length; i++) grown[i] = ring[(link.inFlightHead + i) & (ring.length - 1)];
    ring = link.inFlight = grown;
    link.inFlightHead = 0;
  }
  ring[(link.inFlightHead + link.inFlightCount) & (ring.length - 1)] = frame;
  link.inFlightCount++;
}

export interface NodeState {
  readonly id: Id;
  alive: boolean;
  links: Set<MemoryLink>;
  bytesSent: number;
  framesSent: number;
}

export class MemoryNetwork {
  readonly clock: Clock;
  readonly rng: Rng;
  private readonly opts: Required<Omit<MemoryNetworkOptions, 'trace'>> & Pick<MemoryNetworkOptions, 'trace'>;
  private nodes = new Map<Id, NodeState>();
  private groupOf: ((id: Id) => number) | null = null;
  /** Answers waiting for their offerer's handshake, by the offer's fingerprint (the meeting place of a pair). */
  readonly answered = new Map<string, AnswerWaiting>();
  /** Other simulator threads' nodes, when this network is one shard of a room. */
  remote: RemoteShards | null = null;
  totalBytes = 0;
  totalFrames = 0;

  constructor(options: MemoryNetworkOptions) {
    this.clock = options.clock;
    this.rng = options.rng;
    this.opts = {
      latencyMs: (rng) => Math.min(300, 10 + -Math.log(1 - rng.next()) * 30),
      jitterMs: 2,
      lossRate: 0,
      retransmitMs: 250,
      duplicateRate: 0,
      reorderRate: 0,
      deadLinkCloseMs: 30_000,
      partitionCloseMs: 15_000,
      handshakeRoundTrips: 2,
      ...options,
    };
  }

  addNode(id: Id): void {
    this.nodes.set(id, { id, alive: true, links: new Set(), bytesSent: 0, framesSent: 0 });
  }

  isAlive(id: Id): boolean {
    return this.nodes.get(id)?.alive === true;
  }

  bytesSent(id: Id): number {
    return this.nodes.get(id)?.bytesSent ?? 0;
  }

  linkCount(id: Id): number {
    return this.nodes.get(id)?.links.size ?? 0;
  }

  /** True when a frame or a link setup can pass between a and b now. */
  reachable(a: Id, b: Id): boolean {
    if (!this.isAlive(a) || !this.isAlive(b)) return false;
    return !this.groupOf || this.groupOf(a) === this.groupOf(b);
  }

  /** reachable() for the two ends of a link, without looking them up. */
  private linkPasses(link: MemoryLink): boolean {
    if (!link.localState.alive || !link.remoteState.alive) return false;
    return !this.groupOf || this.groupOf(link.localId) === this.groupOf(link.remoteId);
  }

  /** A one-way delay sample for signals and setup (links use their own base latency). */
  sampleLatency(): number {
    return this.opts.latencyMs(this.rng);
  }

  /** How long a link setup takes once both envelopes have been carried, on a path of this one-way delay. */
  handshakeMs(oneWay: number): number {
    return oneWay * 2 * this.opts.handshakeRoundTrips;
  }

  /** The answer waiting for this offer, taken, if it is the answerer's and signed these fingerprints; else null. */
  takeAnswer(offerFingerprint: string, answerer: Id, answerFingerprint: string): AnswerWaiting | null {
    const waiting = this.answered.get(offerFingerprint);
    if (!waiting || waiting.answerer !== answerer || waiting.fingerprint !== answerFingerprint) return null;
    this.answered.delete(offerFingerprint);
    return waiting;
  }

  /**
   * The "DTLS handshake" of an offer whose answer came back: both ends must hold the fingerprints that
   * were signed. `done` gets the offerer's end once the pair is up, or why it is not; the answerer's
   * waiting link gets the other end. An answerer in another simulator thread checks there.
   */
  handshake(
    offerer: Id, answerer: Id, via: Link['via'], offerFingerprint: string, answerFingerprint: string,
    done: (end: MemoryLink | null, failure?: 'BAD_SIGNATURE' | 'UNREACHABLE') => void,
  ): void {
    if (this.remote?.holds(answerer)) return this.remote.connect(offerer, answerer, via, offerFingerprint, answerFingerprint, done);
    const other = this.takeAnswer(offerFingerprint, answerer, answerFingerprint);
    if (!other) return done(null, 'BAD_SIGNATURE');
    this.connect(offerer, answerer, via, (ends) => {
      if (!ends) {
        other.reject(new SelfmeshError('UNREACHABLE', `no path to ${offerer.slice(0, 8)}`));
        return done(null, 'UNREACHABLE');
      }
      done(ends[0]);
      other.resolve(ends[1]);
    });
  }

  /** Makes a connected pair after the handshake; resolves with [aEnd, bEnd] or null if it failed. */
  connect(a: Id, b: Id, via: Link['via'], done: (ends: [MemoryLink, MemoryLink] | null) => void): void {
    const oneWay = this.sampleLatency();
    this.clock.setTimeout(() => {
      if (!this.reachable(a, b)) return done(null);
      const stateA = this.nodes.get(a)!;
      const stateB = this.nodes.get(b)!;
      // The nodes' own id strings, not the copies that came in decoded messages: a node holds dozens
      // of links, and each end would otherwise keep its own copy of both ids.
      const ab = new MemoryLink(this, stateA.id, stateB.id, via);
      const ba = new MemoryLink(this, stateB.id, stateA.id, via);
      ab.peer = ba;
      ba.peer = ab;
      ab.baseLatencyMs = ba.baseLatencyMs = oneWay;
      ab.localState = ba.remoteState = stateA;
      ab.remoteState = ba.localState = stateB;
      stateA.links.add(ab);
      stateB.links.add(ba);
      this.opts.trace?.('up', a, b, 0);
      done([ab, ba]);
    }, this.handshakeMs(oneWay));
  }

  /** @internal */
  transmit(from: MemoryLink, frame: Uint8Array): void {
    const state = from.localState;
    if (!state.alive) return;
    state.bytesSent += frame.length;
    state.framesSent++;
    this.totalBytes += frame.length;
    this.totalFrames++;
    if (!this.linkPasses(from)) return;
    const now = this.clock.now();
    let at = now + from.baseLatencyMs + (this.opts.jitterMs > 0 ? this.rng.next() * this.opts.jitterMs : 0);
    if (this.opts.lossRate > 0 && this.rng.next() < this.opts.lossRate) at += this.opts.retransmitMs;
    const reorder = this.opts.reorderRate > 0 && this.rng.next() < this.opts.reorderRate;
    if (!reorder) at = Math.max(at, from.lastDeliveryAt);
    from.lastDeliveryAt = Math.max(from.lastDeliveryAt, at);
    if (from.remote) {
      from.remote.frame(at, frame);
      return;
    }
    // No copy: a sender hands its frame over (see Link.send), and the receiver only reads it.
    if (!reorder && this.opts.duplicateRate === 0) {
      // Delivery times on one link never decrease, so the timers fire in the order the frames queue.
      enqueue(from, frame);
      this.clock.setTimeout(from.deliverNext, at - now);
      return;
    }
    const deliver = () => this.deliver(from, frame);
    this.clock.setTimeout(deliver, at - now);
    if (this.opts.duplicateRate > 0 && this.rng.next() < this.opts.duplicateRate) {
      this.clock.setTimeout(deliver, at - now + 1);
    }
  }

  /** @internal the oldest frame in flight on `from` is due */
  deliverNext(from: MemoryLink): void {
    const ring = from.inFlight!;
    const frame = ring[from.inFlightHead]!;
    ring[from.inFlightHead] = undefined;
    from.inFlightHead = (from.inFlightHead + 1) & (ring.length - 1);
    from.inFlightCount--;
    this.deliver(from, frame);
  }

  private deliver(from: MemoryLink, frame: Uint8Array): void {
    const to = from.peer;
    if (!to.isOpen || !this.linkPasses(from)) return;
    this.opts.trace?.('frame', from.localId, from.remoteId, frame.length);
    to.emitMessage(frame);
  }

  /**
   * One end of a pair whose other end is in another thread, made when the handshake completes there too.
   * The other node's state is a stand-in: nodes in a sharded room never crash.
   */
  openRemoteEnd(localId: Id, remoteId: Id, via: Link['via'], baseLatencyMs: number, remote: RemoteEnd): MemoryLink | null {
    const state = this.nodes.get(localId);
    if (!state || !state.alive) return null;
    const end = new MemoryLink(this, state.id, remoteId, via);
    end.remote = remote;
    end.baseLatencyMs = baseLatencyMs;
    end.localState = state;
    end.remoteState = { id: remoteId, alive: true, links: new Set(), bytesSent: 0, framesSent: 0 };
    state.links.add(end);
    this.opts.trace?.('up', remoteId < localId ? remoteId : localId, remoteId < localId ? localId : remoteId, 0);
    return end;
  }

  /** A frame from the other thread's end of `to`, due now. */
  deliverFromRemote(to: MemoryLink, frame: Uint8Array): void {
    if (!to.isOpen || !to.localState.alive) return;
    this.opts.trace?.('frame', to.remoteId, to.localId, frame.length);
    to.emitMessage(frame);
  }

  /** @internal the local end closed on purpose: the far end hears of it after one latency */
  closeRemoteEnd(local: MemoryLink, reason: string): void {
    if (local.remote) {
      local.remote.close(this.clock.now() + Math.max(local.lastDeliveryAt - this.clock.now(), local.baseLatencyMs), reason);
      return;
    }
    const remote = local.peer;
    if (!this.reachable(local.localId, local.remoteId)) {
      // The close cannot be heard: the far end finds out when the dead link times out.
      this.clock.setTimeout(() => remote.closeLocally('timeout'), this.opts.deadLinkCloseMs);
      return;
    }
    this.clock.setTimeout(() => remote.closeLocally(reason), Math.max(local.lastDeliveryAt - this.clock.now(), local.baseLatencyMs));
  }

  /** @internal */
  forget(link: MemoryLink): void {
    this.nodes.get(link.localId)?.links.delete(link);
    this.opts.trace?.('down', link.localId, link.remoteId, 0);
  }

  /**
   * The node stops. `silent`: it just goes quiet (power loss, killed tab) and the far ends notice only
   * when their links time out. Otherwise its links close the way a closed tab closes them.
   */
  crash(id: Id, silent = true): void {
    const state = this.nodes.get(id);
    if (!state || !state.alive) return;
    const links = [...state.links];
    if (!silent) for (const link of links) link.close('peer gone');
    state.alive = false;
    for (const link of links) {
      link.closeLocally('crashed');
      if (link.remote) {
        link.remote.close(this.clock.now() + this.opts.deadLinkCloseMs, 'timeout');
        continue;
      }
      const remote = link.peer;
      this.clock.setTimeout(() => remote.closeLocally('timeout'), this.opts.deadLinkCloseMs);
    }
  }

  /** Splits the network: nodes in different groups cannot reach each other until heal(). */
  partition(groupOf: (id: Id) => number): void {
    this.groupOf = groupOf;
    for (const [id, state] of this.nodes) {
      for (const link of state.links) {
        if (link.localId !== id || groupOf(link.localId) === groupOf(link.remoteId)) continue;
        this.clock.setTimeout(() => {
          if (!this.groupOf || this.groupOf(link.localId) !== this.groupOf(link.remoteId)) link.closeLocally('timeout');
        }, this.opts.partitionCloseMs);
      }
    }
  }

  heal(): void {
    this.groupOf = null;
  }
}
