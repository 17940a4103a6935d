// A temporary node: identity, signaling client, WebRTC connector, and one Rpc per link. It exists
// until src/node.ts (the full composition with the overlay) replaces it; it runs in a tab and in Node
// (the caller passes WebSocket, SimplePeer and wrtc), so end-to-end tests can mix the two.
import type { Clock } from '../core/clock.ts';
import { Counters } from '../core/counters.ts';
import { Emitter } from '../core/emitter.ts';
import { SelfmeshError, errorMessage, isSelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { Identity, SignatureScheme } from '../core/identity.ts';
import type { Rng } from '../core/rng.ts';
import type { Link, SignalEnvelope } from '../transport/link.ts';
import { MethodTable } from '../transport/methods.ts';
import { Rpc } from '../transport/rpc.ts';
import { SignalingClient, type WebSocketConstructor } from '../transport/signaling-client.ts';
import {
  WebrtcConnector,
  type SimplePeerConstructor,
  type WebrtcConnectorOptions,
} from '../transport/webrtc-connector.ts';
import type { LinkInfo } from './node-api.ts';
import { registerTestMethods } from './test-methods.ts';

export interface BootstrapOptions {
  identity: Identity;
  scheme: SignatureScheme;
  clock: Clock;
  rng: Rng;
  signalUrl: string;
  room: string;
  WebSocket: WebSocketConstructor;
  SimplePeer: SimplePeerConstructor;
  wrtc?: WebrtcConnectorOptions['wrtc'];
  iceServers?: RTCIceServer[];
  /** Links opened on announces, up to this many (0: only explicit connect()). */
  autoLinks?: number;
}

export interface Refusal {
  from: Id;
  code: string;
  message: string;
}

export interface BootstrapEvents {
  change: void;
  refused: Refusal;
  [key: string]: unknown;
}

interface Entry {
  link: Link;
  rpc: Rpc;
  initiator: Id;
  openedAt: number;
}

// Rpc messages up to 4 MiB of payload plus envelope overhead (the benchmark sends 4 MiB messages).
const MAX_MESSAGE = 4 * 1024 * 1024 + 64 * 1024;

export class BootstrapNode extends Emitter<BootstrapEvents> {
  readonly id: Id;
  readonly room: string;
  readonly startedAt: number;
  readonly methods = new MethodTable();
  readonly counters = new Counters();
  readonly signaling: SignalingClient;
  readonly connector: WebrtcConnector;
  readonly refusals: Refusal[] = [];
  private readonly entries = new Map<Id, Entry>();
  private readonly connecting = new Map<Id, Promise<Id>>();
  private readonly answeredAnnounce = new Set<Id>();

  constructor(private readonly opts: BootstrapOptions) {
    super();
    this.id = opts.identity.id;
    this.room = opts.room;
    this.startedAt = opts.clock.now();
    registerTestMethods(this.methods);
    this.connector = new WebrtcConnector({
      identity: opts.identity,
      scheme: opts.scheme,
      clock: opts.clock,
      rng: opts.rng,
      SimplePeer: opts.SimplePeer,
      wrtc: opts.wrtc,
      iceServers: opts.iceServers,
      counters: this.counters,
      connectTimeoutMs: 20_000,
    });
    this.signaling = new SignalingClient({
      url: opts.signalUrl,
      id: this.id,
      WebSocket: opts.WebSocket,
      clock: opts.clock,
      rng: opts.rng,
    });
    this.signaling.subscribe([opts.room]);
    this.signaling.on('open', () => {
      this.signaling.announce(opts.room);
      this.emit('change', undefined);
    });
    this.signaling.on('close', () => this.emit('change', undefined));
    this.signaling.on('announce', ({ from }) => this.onAnnounce(from));
    this.signaling.on('signal', ({ envelope }) => void this.onSignal(envelope));
  }

  links(): LinkInfo[] {
    return [...this.entries.entries()]
      .filter(([, e]) => e.link.isOpen)
      .map(([id, e]) => ({ id, via: e.link.via, rttMs: null, openedAt: e.openedAt }));
  }

  rpc(peer: Id): Rpc {
    const entry = this.entries.get(peer);
    if (!entry || !entry.link.isOpen)
      throw new SelfmeshError('UNREACHABLE', `no link to ${peer.slice(0, 8)}`);
    return entry.rpc;
  }

  /** Opens a link through the signaling server (or returns the one there is). Resolves to the peer id. */
  connect(peer: Id): Promise<Id> {
    if (this.entries.get(peer)?.link.isOpen) return Promise.resolve(peer);
    let pending = this.connecting.get(peer);
    if (!pending) {
      pending = (async () => {
        const offer = await this.connector.offer(peer, 'server');
        if (!this.signaling.sendSignal(this.room, offer.envelope)) {
          offer.cancel();
          throw new SelfmeshError('UNREACHABLE', 'signaling server not connected');
        }
        this.adopt(await offer.link, this.id);
        return peer;
      })().finally(() => this.connecting.delete(peer));
      this.connecting.set(peer, pending);
    }
    return pending;
  }

  stats() {
    return {
      id: this.id,
      room: this.room,
      uptimeMs: this.opts.clock.now() - this.startedAt,
      links: this.links().length,
      signaling: this.signaling.stats(),
      counters: this.counters.snapshot(),
      refused: this.refusals.length,
    };
  }

  close(): void {
    this.signaling.close();
    for (const e of this.entries.values()) e.link.close('node closed');
    this.entries.clear();
  }

  /** Newcomers announce; the lower id offers, the higher one announces back so the lower one sees it. */
  private onAnnounce(from: Id): void {
    const auto = this.opts.autoLinks ?? 3;
    if (auto <= 0 || this.entries.has(from) || this.connecting.has(from) || this.links().length >= auto)
      return;
    if (this.id < from) {
      this.connect(from).catch((e) =>
        this.counters.inc(`bootstrap.connect.${isSelfmeshError(e) ? e.code : 'INTERNAL'}`),
      );
    } else if (!this.answeredAnnounce.has(from)) {
      this.answeredAnnounce.add(from);
      this.signaling.announce(this.room);
    }
  }

  /** Every refusal is kept with its reason (tests and the UI show it) and never thrown further. */
  private async onSignal(env: SignalEnvelope): Promise<void> {
    try {
      if (env.kind === 'answer') return await this.connector.complete(env);
      // Both sides offered at once: the offer of the lower id wins on both sides.
      if (this.connecting.has(env.from) && this.id < env.from) return;
      const answer = await this.connector.answer(env, 'server');
      this.signaling.sendSignal(this.room, answer.envelope);
      this.adopt(await answer.link, env.from);
    } catch (e) {
      const refusal = {
        from: env.from,
        code: isSelfmeshError(e) ? e.code : 'INTERNAL',
        message: errorMessage(e),
      };
      if (refusal.code === 'CANCELLED' || refusal.code === 'TIMEOUT' || refusal.code === 'UNREACHABLE') {
        this.counters.inc(`bootstrap.answer.${refusal.code}`);
        return;
      }
      this.refusals.push(refusal);
      if (this.refusals.length > 100) this.refusals.shift();
      console.warn(`selfmesh: ${refusal.message}`);
      this.emit('refused', refusal);
    }
  }

  /** Keeps one link per peer: if both directions opened, both sides keep the lower id's. */
  private adopt(link: Link, initiator: Id): void {
    const peer = link.remoteId;
    const existing = this.entries.get(peer);
    if (existing?.link.isOpen) {
      const keepNew = initiator < existing.initiator;
      (keepNew ? existing.link : link).close('duplicate link');
      if (!keepNew) return;
    }
    const rpc = new Rpc(link, this.methods, {
      clock: this.opts.clock,
      counters: this.counters,
      maxMessageBytes: MAX_MESSAGE,
    });
    const entry: Entry = { link, rpc, initiator, openedAt: this.opts.clock.now() };
    this.entries.set(peer, entry);
    link.on('close', () => {
      if (this.entries.get(peer) === entry) this.entries.delete(peer);
      this.emit('change', undefined);
    });
    this.emit('change', undefined);
  }
}

export function buildBootstrapNode(opts: BootstrapOptions): BootstrapNode {
  return new BootstrapNode(opts);
}
