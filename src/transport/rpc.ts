// Request/response and one-way messages over one Link: MessagePack envelopes, chunked frames,
// request ids, timeouts and cancellation. What a peer sends that fails a check is dropped and counted.
//
// Envelopes: [0, id, method, body] request; [1, id, body] reply; [2, id, code, message] error;
// [3, method, body] notify.
import type { Clock, TimerHandle } from '../core/clock.ts';
import { decode, encodeTransient } from '../core/codec.ts';
import { Counters } from '../core/counters.ts';
import { type ErrorCode, SelfmeshError, errorMessage, isSelfmeshError } from '../core/errors.ts';
import { DEFAULT_FRAMING, Framer, Reassembler, type FramingLimits, unwrapWhole, wholeFrame } from './framing.ts';
import type { Link } from './link.ts';
import type { CallContext, MethodTable } from './methods.ts';
import { Outbox } from './outbox.ts';

const REQUEST = 0;
const REPLY = 1;
const ERROR = 2;
const NOTIFY = 3;

const ERROR_CODES = new Set<string>([
  'TIMEOUT', 'CANCELLED', 'CLOSED', 'TOO_LARGE', 'BAD_MESSAGE', 'BAD_SIGNATURE', 'UNREACHABLE',
  'NOT_RESPONSIBLE', 'QUOTA', 'STALE', 'CONFLICT', 'UNTRUSTED', 'REFUSED', 'INTERNAL',
]);

export interface RpcOptions {
  clock: Clock;
  counters?: Counters;
  timeoutMs?: number;
  maxMessageBytes?: number;
  /** Requests from the peer being handled at once; more are refused (a peer cannot pile up work). */
  maxIncoming?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The answer waits on other nodes (a relayed route, a probe): its time says nothing of this link's. */
  relayed?: boolean;
}

export interface RpcStats {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  dropped: number;
}

/** Round trips are remembered over the last one to two windows of this length. */
export const RTT_WINDOW_MS = 30_000;

interface PendingRequest {
  /** When it was sent, or -1 for a relayed request (not a sample of the round trip). */
  sentAt: number;
  resolve: (value: unknown) => void;
  reject: (e: unknown) => void;
  timer: TimerHandle;
  cleanup: (() => void) | null;
}

export class Rpc {
  // Counts in fields of their own, not an object per link (read through `stats`).
  private messagesIn = 0;
  private messagesOut = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private dropped = 0;
  private readonly limits: FramingLimits;
  /** Made for the first message that needs chunks, sent or received: most links carry whole frames only. */
  private framer: Framer | null = null;
  private reassembler: Reassembler | null = null;
  private readonly outbox: Outbox;
  /**
   * Requests awaiting a reply: the first in two fields, any others in a map made while there are some.
   * Most links carry one request at a time, and a map per request was most of a quiet link's garbage.
   */
  private firstId = 0;
  private first: PendingRequest | null = null;
  private more: Map<number, PendingRequest> | null = null;
  private readonly counters: Counters;
  private readonly timeoutMs: number;
  private readonly maxIncoming: number;
  private nextId = 1;
  private incoming = 0;
  private closed = false;
  private call: CallContext | null = null;
  /**
   * The least round trip of a request answered in this window and in the one before (a windowed
   * minimum, as BBR keeps min_rtt): a reply's time also holds the handler's, and the least of many is
   * the path's. Two windows, so that the figure follows a path that got slower within a minute.
   */
  private rttWindowStart = 0;
  private rttMin = Infinity;
  private rttPrevMin = Infinity;
  /**
   * The owner's record of this link, if any: its `lastHeard` is stamped with the time of every frame
   * that arrives, once the frame is handled (the failure detector's heartbeat). A field rather than
   * one more listener per link: a simulated node holds dozens of links, each with its closures.
   */
  heard: { lastHeard: number } | null = null;
  /** Called when the link closes while this Rpc is open (not when its owner closes it): one function for all links. */
  onLinkClose: ((rpc: Rpc, reason: string) => void) | null = null;

  constructor(
    readonly link: Link,
    private readonly methods: MethodTable,
    private readonly opts: RpcOptions,
  ) {
    // Shared unless this link has its own bound: a node holds dozens of links.
    const limits = opts.maxMessageBytes === undefined ? DEFAULT_FRAMING : { ...DEFAULT_FRAMING, messageMax: opts.maxMessageBytes };
    this.limits = limits;
    this.outbox = new Outbox(link);
    this.counters = opts.counters ?? new Counters();
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxIncoming = opts.maxIncoming ?? 256;
    // Never removed: a closed Rpc ignores its link, and the link is closed with it or soon after.
    link.on('message', (frame) => {
      this.onFrame(frame);
      if (this.heard !== null) this.heard.lastHeard = this.opts.clock.now();
    });
    link.on('close', ({ reason }) => {
      if (this.closed) return;
      this.close(reason);
      this.onLinkClose?.(this, reason);
    });
  }

  get stats(): RpcStats {
    return { messagesIn: this.messagesIn, messagesOut: this.messagesOut, bytesIn: this.bytesIn, bytesOut: this.bytesOut, dropped: this.dropped };
  }

  /** The link's round trip as its recent replies show it (see rttMin), or null before the first. */
  get rttMs(): number | null {
    const least = Math.min(this.rttMin, this.rttPrevMin);
    return least === Infinity ? null : least;
  }

  get isOpen(): boolean {
    return !this.closed && this.link.isOpen;
  }

  request(method: string, body: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (!this.isOpen) return Promise.reject(new SelfmeshError('CLOSED', `link to ${this.link.remoteId.slice(0, 8)} closed`));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new SelfmeshError('CANCELLED', `${method} cancelled`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.timeoutMs;
      const timer = this.opts.clock.setTimeout(() => {
        this.settle(id)?.reject(new SelfmeshError('TIMEOUT', `${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      let cleanup: (() => void) | null = null;
      if (signal) {
        const onAbort = () => this.settle(id)?.reject(new SelfmeshError('CANCELLED', `${method} cancelled`));
        signal.addEventListener('abort', onAbort, { once: true });
        cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      const entry: PendingRequest = { sentAt: options.relayed ? -1 : this.opts.clock.now(), resolve, reject, timer, cleanup };
      if (this.first === null) {
        this.first = entry;
        this.firstId = id;
      } else (this.more ??= new Map()).set(id, entry);
      try {
        this.send([REQUEST, id, method, body])?.catch((e: unknown) => this.settle(id)?.reject(e));
      } catch (e) {
        this.settle(id)?.reject(e);
      }
    });
  }

  /** Fire and forget; a failure to send is counted, not thrown. */
  notify(method: string, body: unknown): void {
    if (!this.isOpen) return;
    try {
      this.send([NOTIFY, method, body])?.catch(() => this.counters.inc('rpc.notify.unsent'));
    } catch {
      this.counters.inc('rpc.notify.unsent');
    }
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.outbox.close(reason);
    if (!this.first && !this.more) return;
    // In the order they were sent (ids grow), as a map over all of them would give.
    const ids = this.first ? [this.firstId] : [];
    if (this.more) ids.push(...this.more.keys());
    ids.sort((a, b) => a - b);
    for (const id of ids) {
      this.settle(id)?.reject(new SelfmeshError('CLOSED', `link closed: ${reason}`));
    }
  }

  private settle(id: number): PendingRequest | undefined {
    let p: PendingRequest | undefined;
    if (this.first !== null && this.firstId === id) {
      p = this.first;
      this.first = null;
    } else {
      p = this.more?.get(id);
      if (!p) return undefined;
      this.more!.delete(id);
      if (this.more!.size === 0) this.more = null;
    }
    this.opts.clock.clearTimeout(p.timer);
    p.cleanup?.();
    return p;
  }

  /**
   * Encodes, frames and hands a message to the outbox. Throws if it cannot be sent at all; returns a
   * promise only when the link was busy and the frames had to wait (the common path allocates none).
   */
  private send(envelope: unknown[]): Promise<void> | undefined {
    let bytes: Uint8Array;
    try {
      bytes = encodeTransient(envelope);
    } catch (e) {
      throw new SelfmeshError('BAD_MESSAGE', `cannot encode: ${errorMessage(e)}`);
    }
    // whole and split copy the bytes into new frames before anything else can encode.
    const whole = wholeFrame(bytes, this.limits);
    const frames = whole ? null : (this.framer ??= new Framer(this.limits)).split(bytes);
    this.messagesOut++;
    this.bytesOut += bytes.length;
    return whole ? this.outbox.pushOne(whole) : this.outbox.push(frames!);
  }

  private sampleRtt(sentAt: number): void {
    if (sentAt < 0) return;
    this.addRttSample(this.opts.clock.now() - sentAt);
  }

  /**
   * A round trip the peer measured on this link (its pings carry it): the end that only answers an idle
   * link's pings has no request of its own to time. The path is the same both ways.
   */
  notePeerRtt(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.addRttSample(ms);
  }

  private addRttSample(sample: number): void {
    const now = this.opts.clock.now();
    if (now - this.rttWindowStart >= RTT_WINDOW_MS) {
      // The window just ended becomes the previous one, unless a whole window passed with no reply.
      this.rttPrevMin = now - this.rttWindowStart < 2 * RTT_WINDOW_MS ? this.rttMin : Infinity;
      this.rttMin = Infinity;
      this.rttWindowStart = now;
    }
    if (sample < this.rttMin) this.rttMin = sample;
  }

  private drop(reason: string): void {
    this.dropped++;
    this.counters.inc(`rpc.dropped.${reason}`);
  }

  private onFrame(frame: Uint8Array): void {
    if (this.closed) return;
    let message: Uint8Array | null;
    try {
      message = unwrapWhole(frame, this.limits) ?? (this.reassembler ??= new Reassembler(this.opts.clock, this.limits)).push(frame);
    } catch (e) {
      this.drop(isSelfmeshError(e, 'TOO_LARGE') ? 'too-large' : 'bad-frame');
      return;
    }
    if (!message) return;
    let envelope: unknown;
    try {
      envelope = decode(message);
    } catch {
      this.drop('undecodable');
      return;
    }
    this.messagesIn++;
    this.bytesIn += message.length;
    if (!Array.isArray(envelope)) return this.drop('bad-envelope');
    const [type] = envelope;
    if (type === REQUEST && envelope.length === 4 && isUint(envelope[1]) && typeof envelope[2] === 'string') {
      this.onRequest(envelope[1], envelope[2], envelope[3]);
    } else if (type === REPLY && envelope.length === 3 && isUint(envelope[1])) {
      const p = this.settle(envelope[1]);
      if (p) {
        this.sampleRtt(p.sentAt);
        p.resolve(envelope[2]);
      } else this.drop('unexpected-reply');
    } else if (type === ERROR && envelope.length === 4 && isUint(envelope[1]) && typeof envelope[3] === 'string') {
      const p = this.settle(envelope[1]);
      const code = typeof envelope[2] === 'string' && ERROR_CODES.has(envelope[2]) ? envelope[2] : 'INTERNAL';
      if (p) this.sampleRtt(p.sentAt);
      if (p) p.reject(new SelfmeshError(code as ErrorCode, envelope[3].slice(0, 500)));
      else this.drop('unexpected-reply');
    } else if (type === NOTIFY && envelope.length === 3 && typeof envelope[1] === 'string') {
      const checked = this.methods.check(envelope[1], 'notify', envelope[2]);
      if (!checked.ok) return this.drop('bad-notify');
      try {
        checked.handler(checked.body, this.callContext());
      } catch {
        this.counters.inc('rpc.handler.error');
      }
    } else {
      this.drop('bad-envelope');
    }
  }

  private onRequest(id: number, method: string, body: unknown): void {
    const checked = this.methods.check(method, 'request', body);
    if (!checked.ok) {
      this.drop('bad-request');
      this.reply([ERROR, id, 'BAD_MESSAGE', checked.reason]);
      return;
    }
    if (this.incoming >= this.maxIncoming) {
      this.drop('busy');
      this.reply([ERROR, id, 'REFUSED', 'too many requests in flight']);
      return;
    }
    this.incoming++;
    // The handler runs after the current frame is handled, as a promise continuation would, but with
    // one closure instead of a chain of promises: this is the hottest path of the simulator. Queued as
    // a reaction of a settled promise, not by queueMicrotask: the same single job in the same queue, but
    // Node wraps each queueMicrotask callback in an AsyncResource (about three times the cost).
    RESOLVED.then(() => {
      let result: unknown;
      try {
        result = checked.handler(checked.body, this.callContext());
      } catch (e) {
        this.incoming--;
        this.replyError(id, e);
        return;
      }
      if (isThenable(result)) {
        result.then(
          (value) => {
            this.incoming--;
            this.reply([REPLY, id, value]);
          },
          (e: unknown) => {
            this.incoming--;
            this.replyError(id, e);
          },
        );
      } else {
        this.incoming--;
        this.reply([REPLY, id, result]);
      }
    });
  }

  /** Who calls, for handlers: one object per link, made on the first call (handlers only read it). */
  private callContext(): CallContext {
    return (this.call ??= Object.freeze({ from: this.link.remoteId, link: this.link }));
  }

  private replyError(id: number, e: unknown): void {
    if (!isSelfmeshError(e)) this.counters.inc('rpc.handler.error');
    this.reply([ERROR, id, isSelfmeshError(e) ? e.code : 'INTERNAL', errorMessage(e)]);
  }

  private reply(envelope: unknown[]): void {
    if (!this.isOpen) return;
    // (No named closure here: the build names each one it makes, which costs every reply.)
    try {
      this.send(envelope)?.catch((e: unknown) => this.replyFailed(envelope, e));
    } catch (e) {
      this.replyFailed(envelope, e);
    }
  }

  /** A reply too large to send becomes an error reply, so the caller is not left waiting. */
  private replyFailed(envelope: unknown[], e: unknown): void {
    if (!isSelfmeshError(e, 'TOO_LARGE') && !isSelfmeshError(e, 'BAD_MESSAGE')) return;
    try {
      this.send([ERROR, envelope[1], e.code, e.message])?.catch(() => undefined);
    } catch {
      // The link is gone: nobody is left waiting.
    }
  }
}

const RESOLVED = Promise.resolve();

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

function isUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}
