// A Link over one simple-peer instance (browser RTCPeerConnection, or @roamhq/wrtc in Node).
// simple-peer is kept behind this file and webrtc-connector.ts, so swapping it for a fork is local.
import type { Clock, TimerHandle } from '../core/clock.ts';
import { Emitter } from '../core/emitter.ts';
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type SimplePeer from 'simple-peer';
import { BUFFER_LOW_WATER, FRAME_MAX, type Link, type LinkEvents } from './link.ts';

export type PeerInstance = SimplePeer.Instance;

const DRAIN_POLL_MS = 5;
const MAX_EARLY_FRAMES = 1024;

/** The parts of RTCDataChannel we touch (simple-peer keeps it in a private field). */
interface Channel {
  bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  onbufferedamountlow: ((ev: unknown) => void) | null;
}

export class WebrtcLink implements Link {
  // A mapped copy: an interface has no index signature, which Emitter wants.
  private readonly emitter = new Emitter<{ [K in keyof LinkEvents]: LinkEvents[K] }>();
  private closed = false;
  // Frames that arrive between the channel opening and the owner subscribing are kept, not lost.
  private early: Uint8Array[] | null = [];
  private drainHooked = false;
  private drainTimer: TimerHandle | undefined;

  constructor(
    private readonly peer: PeerInstance,
    readonly remoteId: Id,
    readonly via: Link['via'],
    private readonly clock: Clock,
  ) {
    peer.on('data', (data: Uint8Array) => this.onData(data));
    peer.on('close', () => this.finish('peer connection closed'));
    peer.on('error', (err: Error) => this.finish(`peer connection failed: ${err.message}`));
    if (peer.connected) this.hookDrain();
    else peer.once('connect', () => this.hookDrain());
  }

  get isOpen(): boolean {
    return !this.closed && this.peer.connected;
  }

  get bufferedAmount(): number {
    return this.peer.bufferSize;
  }

  send(frame: Uint8Array): void {
    if (!this.isOpen) throw new SelfmeshError('CLOSED', `link to ${this.remoteId.slice(0, 8)} is closed`);
    if (frame.length > FRAME_MAX)
      throw new SelfmeshError('TOO_LARGE', `frame of ${frame.length} bytes exceeds ${FRAME_MAX}`);
    this.peer.send(frame);
    if (this.bufferedAmount >= BUFFER_LOW_WATER) this.watchDrain();
  }

  close(reason = 'closed locally'): void {
    if (this.closed) return;
    this.finish(reason);
    this.peer.destroy();
  }

  on<K extends keyof LinkEvents>(type: K, listener: (event: LinkEvents[K]) => void): () => void {
    const off = this.emitter.on(type, listener);
    if (type === 'message' && this.early) {
      const queued = this.early;
      this.early = null;
      // After the caller's subscription code has finished, as if they had just arrived.
      queueMicrotask(() => {
        for (const frame of queued) this.emitter.emit('message', frame);
      });
    }
    return off;
  }

  private onData(data: Uint8Array): void {
    if (this.closed) return;
    // simple-peer hands out Buffers (a Uint8Array subclass, polyfilled in browsers): expose a plain view.
    const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.early) {
      // Nobody subscribed yet; a peer cannot make us hold more than a bounded backlog.
      if (this.early.length < MAX_EARLY_FRAMES) this.early.push(frame);
    } else this.emitter.emit('message', frame);
  }

  /** Our own low-water mark on the channel, chained after simple-peer's handler (its stream uses it). */
  private hookDrain(): void {
    const channel = (this.peer as unknown as { _channel: Channel | null })._channel;
    if (!channel || this.drainHooked) return;
    this.drainHooked = true;
    channel.bufferedAmountLowThreshold = BUFFER_LOW_WATER;
    const previous = channel.onbufferedamountlow;
    channel.onbufferedamountlow = (ev) => {
      previous?.call(channel, ev);
      if (!this.closed) this.emitter.emit('drain', undefined);
    };
  }

  /**
   * @roamhq/wrtc never fires bufferedamountlow, so while the buffer is above the low-water mark we
   * also poll it; a drain reported twice is harmless (senders just try again).
   */
  private watchDrain(): void {
    if (this.drainTimer !== undefined) return;
    this.drainTimer = this.clock.setTimeout(() => {
      this.drainTimer = undefined;
      if (this.closed) return;
      if (this.bufferedAmount < BUFFER_LOW_WATER) this.emitter.emit('drain', undefined);
      else this.watchDrain();
    }, DRAIN_POLL_MS);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.clock.clearTimeout(this.drainTimer);
    this.early = null;
    this.emitter.emit('close', { reason });
    this.emitter.removeAll();
  }
}
