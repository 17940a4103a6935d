// The signaling hub: connection admission, per-connection state, frame handling, relay and
// keepalive. Independent of HTTP so that it can be reasoned about (and tested) on its own.

import type { RawData, WebSocket } from 'ws';
import { TokenBucket, type Limits } from './limits.ts';
import { Metrics, type DropReason, type OutType, type RejectReason } from './metrics.ts';
import { PONG, encodeError, encodePublish, frameSchema, parseFrame, type ErrorReason } from './protocol.ts';
import { TopicRegistry } from './topics.ts';

interface Conn {
  readonly ws: WebSocket;
  readonly rate: TokenBucket;
  /** Errors left before disconnect; refills slowly so rare mistakes are forgiven. */
  readonly errorBudget: TokenBucket;
  /** Answered the last keepalive ping. */
  alive: boolean;
  /** Set as soon as we stop serving it (before the socket has finished closing). */
  closed: boolean;
}

const OPEN = 1;
/** How long close() waits for clients to finish the close handshake before cutting them off. */
const CLOSE_GRACE_MS = 1000;

export class SignalingHub {
  readonly metrics = new Metrics();
  private readonly topics = new TopicRegistry<Conn>();
  private readonly conns = new Set<Conn>();
  /** Sockets admitted (upgrading or open), in total and by remote address. */
  private reserved = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly schema: ReturnType<typeof frameSchema>;
  private readonly keepalive: ReturnType<typeof setInterval>;
  private shuttingDown = false;

  constructor(
    readonly limits: Limits,
    private readonly log: (msg: string) => void,
  ) {
    this.schema = frameSchema(limits);
    this.keepalive = setInterval(() => this.sweep(), limits.keepaliveMs);
    this.keepalive.unref();
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  get topicCount(): number {
    return this.topics.topicCount;
  }

  get subscriptionCount(): number {
    return this.topics.subscriptionCount;
  }

  /**
   * Reserves a slot for a socket about to be upgraded, or says why not. The slot is taken before
   * the (asynchronous) handshake so that a burst of upgrades cannot overshoot the limits.
   */
  reserve(address: string): RejectReason | null {
    if (this.shuttingDown) return 'shutting-down';
    if (this.reserved >= this.limits.maxConnections) return 'max-connections';
    const n = this.perAddress.get(address) ?? 0;
    if (n >= this.limits.maxConnectionsPerAddress) return 'max-connections-per-address';
    this.reserved++;
    this.perAddress.set(address, n + 1);
    return null;
  }

  /** Frees a slot taken by reserve(); call once, when the socket has closed. */
  release(address: string): void {
    this.reserved--;
    const n = (this.perAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, n);
  }

  /** Starts serving an upgraded connection. */
  attach(ws: WebSocket): void {
    const l = this.limits;
    const conn: Conn = {
      ws,
      rate: new TokenBucket(l.messagesPerSecond, l.messageBurst),
      errorBudget: new TokenBucket(l.errorsForgivenPerSecond, l.maxErrors),
      alive: true,
      closed: false,
    };
    this.conns.add(conn);
    this.metrics.connectionsAccepted++;
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('pong', () => {
      conn.alive = true;
    });
    // ws reports protocol violations it handles itself (it then closes with 1009/1007/1002).
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.metrics.error('frame-too-large');
      else if (err.code?.startsWith('WS_ERR_')) this.metrics.error('invalid-frame');
      this.forget(conn);
    });
    ws.on('close', () => {
      this.forget(conn);
      this.conns.delete(conn);
    });
    if (this.shuttingDown) ws.close(1001, 'server shutting down');
  }

  private onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    if (conn.closed) return;
    if (!conn.rate.take()) {
      this.metrics.frameIn('refused');
      this.fail(conn, 'rate-limited');
      return;
    }
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const parsed = parseFrame(buf, isBinary, this.limits, this.schema);
    if (!parsed.ok) {
      this.metrics.frameIn('refused');
      this.fail(conn, parsed.reason);
      return;
    }
    const frame = parsed.frame;
    this.metrics.frameIn(frame.type);
    switch (frame.type) {
      case 'subscribe': {
        // All or nothing: a frame that would go over the limit changes no state.
        if (this.topics.countAfterSubscribe(conn, frame.topics) > this.limits.maxTopicsPerConnection) {
          this.fail(conn, 'too-many-topics');
          return;
        }
        for (const t of frame.topics) this.topics.subscribe(conn, t);
        return;
      }
      case 'unsubscribe':
        for (const t of frame.topics) this.topics.unsubscribe(conn, t);
        return;
      case 'publish': {
        // As the reference: relay to every subscriber, sender included, with the subscriber count.
        // Publishing to a topic one has not subscribed to is allowed (the reference allows it).
        const receivers = this.topics.subscribers(frame.topic);
        if (!receivers || receivers.size === 0) return;
        const text = encodePublish(frame, receivers.size);
        if (text === null) {
          this.fail(conn, 'invalid-frame');
          return;
        }
        for (const r of [...receivers]) this.send(r, text, 'publish');
        return;
      }
      case 'ping':
        this.send(conn, PONG, 'pong');
        return;
    }
  }

  /** Refuses a frame: tells the client why, counts it, and drops clients that keep doing it. */
  private fail(conn: Conn, reason: ErrorReason): void {
    this.metrics.error(reason);
    this.send(conn, encodeError(reason), 'error');
    if (!conn.closed && !conn.errorBudget.take()) this.drop(conn, 'too-many-errors');
  }

  private send(conn: Conn, text: string, type: OutType): void {
    if (conn.closed || conn.ws.readyState !== OPEN) return;
    // A receiver that does not read must not make us buffer without bound.
    if (conn.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.drop(conn, 'slow-consumer');
      return;
    }
    try {
      conn.ws.send(text);
      this.metrics.frameOut(type);
    } catch {
      this.drop(conn, 'slow-consumer');
    }
  }

  private drop(conn: Conn, reason: DropReason): void {
    if (conn.closed) return;
    this.metrics.dropped(reason);
    this.log(`dropping connection: ${reason}`);
    this.forget(conn);
    if (reason === 'too-many-errors') {
      // A close frame tells a buggy-but-honest client why; ws cuts it off if it never answers.
      conn.ws.close(1008, 'too many errors');
    } else {
      conn.ws.terminate();
    }
  }

  /** Stops serving a connection and frees its subscriptions. Idempotent. */
  private forget(conn: Conn): void {
    conn.closed = true;
    this.topics.removeConnection(conn);
  }

  private sweep(): void {
    for (const conn of this.conns) {
      if (conn.closed) continue;
      if (!conn.alive) {
        this.drop(conn, 'keepalive-timeout');
        continue;
      }
      conn.alive = false;
      try {
        conn.ws.ping();
      } catch {
        this.drop(conn, 'keepalive-timeout');
      }
    }
  }

  /** Closes every client with 1001 (going away) and waits for them, cutting off stragglers. */
  async close(): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.keepalive);
    const conns = [...this.conns];
    const closed = conns.map((c) => new Promise<void>((resolve) => c.ws.once('close', () => resolve())));
    for (const c of conns) {
      this.forget(c);
      c.ws.close(1001, 'server shutting down');
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_GRACE_MS);
    });
    await Promise.race([Promise.all(closed), grace]);
    clearTimeout(timer);
    for (const c of conns) c.ws.terminate();
  }
}
