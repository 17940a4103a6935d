// Client of the y-webrtc signaling protocol, used only to get into a room: JSON frames `subscribe`,
// `unsubscribe`, `publish {topic, data}`, `ping`/`pong`. Inside `data`: `{type:'announce', from}` and
// `{type:'signal', from, to, token, signal}`, where `signal` is our signed envelope in wire form.
// Reconnects with exponential backoff and jitter; what the server relays is checked, never trusted.
import type { Clock, TimerHandle } from '../core/clock.ts';
import { Emitter } from '../core/emitter.ts';
import { errorMessage } from '../core/errors.ts';
import { isId, type Id } from '../core/id.ts';
import type { Rng } from '../core/rng.ts';
import type { SignalEnvelope } from './link.ts';
import { envelopeFromWire, envelopeToWire } from './signal-envelope.ts';

/** The part of WebSocket we use: the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

export interface SignalingClientOptions {
  url: string;
  /** Our node id: announces carry it, and signals for other nodes are ignored. */
  id: Id;
  WebSocket: WebSocketConstructor;
  clock: Clock;
  rng: Rng;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A ping goes out this often; no frame at all for two periods means the connection is dead. */
  pingIntervalMs?: number;
}

export interface SignalingEvents {
  open: void;
  close: { reason: string };
  announce: { from: Id; topic: string };
  /** Our own publish relayed back by the server, with the number of subscribers of its topic. */
  echo: { topic: string; clients: number | null };
  signal: { envelope: SignalEnvelope; topic: string };
  [key: string]: unknown;
}

export interface SignalingStats {
  open: boolean;
  framesSent: number;
  framesReceived: number;
  /** Frames from the server (or relayed from other clients) that failed a check. */
  dropped: number;
  /** Frames we could not send because the connection was down. */
  unsent: number;
  connects: number;
  topics: string[];
}

export class SignalingClient extends Emitter<SignalingEvents> {
  private ws: WebSocketLike | null = null;
  private readonly topics = new Set<string>();
  private attempt = 0;
  private stopped = false;
  private retryTimer: TimerHandle | undefined;
  private pingTimer: TimerHandle | undefined;
  private lastHeard = 0;
  private readonly counts = { framesSent: 0, framesReceived: 0, dropped: 0, unsent: 0, connects: 0 };

  constructor(private readonly opts: SignalingClientOptions) {
    super();
    this.connect();
  }

  get isOpen(): boolean {
    return this.ws?.readyState === OPEN;
  }

  stats(): SignalingStats {
    return { open: this.isOpen, ...this.counts, topics: [...this.topics] };
  }

  /** Topics are remembered and subscribed again after every reconnect. */
  subscribe(topics: string[]): void {
    const fresh = topics.filter((t) => !this.topics.has(t));
    fresh.forEach((t) => this.topics.add(t));
    if (fresh.length) this.send({ type: 'subscribe', topics: fresh });
  }

  unsubscribe(topics: string[]): void {
    topics.forEach((t) => this.topics.delete(t));
    this.send({ type: 'unsubscribe', topics });
  }

  publish(topic: string, data: unknown): boolean {
    return this.send({ type: 'publish', topic, data });
  }

  announce(topic: string): boolean {
    return this.publish(topic, { type: 'announce', from: this.opts.id });
  }

  sendSignal(topic: string, envelope: SignalEnvelope): boolean {
    const { to, token } = envelope;
    return this.publish(topic, {
      type: 'signal',
      from: this.opts.id,
      to,
      token,
      signal: envelopeToWire(envelope),
    });
  }

  close(): void {
    this.stopped = true;
    this.opts.clock.clearTimeout(this.retryTimer);
    this.opts.clock.clearTimeout(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
      ws.close(1000, 'client closed');
      this.emit('close', { reason: 'client closed' });
    }
  }

  private send(frame: object): boolean {
    if (!this.ws || this.ws.readyState !== OPEN) {
      this.counts.unsent++;
      return false;
    }
    this.ws.send(JSON.stringify(frame));
    this.counts.framesSent++;
    return true;
  }

  private connect(): void {
    if (this.stopped) return;
    let ws: WebSocketLike;
    try {
      ws = new this.opts.WebSocket(this.opts.url);
    } catch (e) {
      this.scheduleReconnect(`cannot connect: ${errorMessage(e)}`);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.counts.connects++;
      this.lastHeard = this.opts.clock.now();
      if (this.topics.size) this.send({ type: 'subscribe', topics: [...this.topics] });
      this.schedulePing();
      this.emit('open', undefined);
    };
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onerror = () => {
      // A close event follows; reconnecting is handled there.
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const reason = (ev as { reason?: string }).reason || 'connection closed';
      this.emit('close', { reason });
      this.scheduleReconnect(reason);
    };
  }

  /** Exponential backoff with full jitter in [delay/2, delay]: a restarted server is not stampeded. */
  private scheduleReconnect(_reason: string): void {
    this.opts.clock.clearTimeout(this.pingTimer);
    if (this.stopped) return;
    const min = this.opts.minBackoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 30_000;
    const delay = Math.min(max, min * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    this.retryTimer = this.opts.clock.setTimeout(
      () => this.connect(),
      delay / 2 + this.opts.rng.next() * (delay / 2),
    );
  }

  private schedulePing(): void {
    const period = this.opts.pingIntervalMs ?? 20_000;
    this.opts.clock.clearTimeout(this.pingTimer);
    this.pingTimer = this.opts.clock.setTimeout(() => {
      if (!this.ws || this.stopped) return;
      if (this.opts.clock.now() - this.lastHeard > 2 * period) {
        // Silent for too long: drop the socket; onclose schedules the reconnect.
        this.ws.close(4000, 'no pong');
        return;
      }
      this.send({ type: 'ping' });
      this.schedulePing();
    }, period);
  }

  private onFrame(raw: unknown): void {
    this.counts.framesReceived++;
    this.lastHeard = this.opts.clock.now();
    let frame: { type?: unknown; topic?: unknown; data?: unknown };
    try {
      frame = JSON.parse(typeof raw === 'string' ? raw : String(raw)) as typeof frame;
    } catch {
      this.counts.dropped++;
      return;
    }
    if (typeof frame !== 'object' || frame === null) return void this.counts.dropped++;
    if (frame.type === 'pong' || frame.type === 'error') return;
    if (frame.type !== 'publish' || typeof frame.topic !== 'string' || !this.topics.has(frame.topic)) return;
    const data = frame.data as { type?: unknown; from?: unknown; to?: unknown; signal?: unknown } | null;
    if (typeof data !== 'object' || data === null || !isId(data.from)) return void this.counts.dropped++;
    if (data.from === this.opts.id) {
      // Our own publish, relayed back to us: it tells how many clients the topic has.
      const clients = (frame as { clients?: unknown }).clients;
      this.emit('echo', { topic: frame.topic, clients: typeof clients === 'number' ? clients : null });
      return;
    }
    if (data.type === 'announce') {
      this.emit('announce', { from: data.from, topic: frame.topic });
    } else if (data.type === 'signal') {
      if (data.to !== this.opts.id) return;
      try {
        const envelope = envelopeFromWire(data.signal);
        if (envelope.from !== data.from) throw new Error('sender mismatch');
        this.emit('signal', { envelope, topic: frame.topic });
      } catch {
        this.counts.dropped++;
      }
    } else {
      this.counts.dropped++;
    }
  }
}
