// Sends frames on a link without flooding it: above the high-water mark of bufferedAmount, frames
// wait in a queue until the link drains. A message's frames stay together and in order.
//
// Almost every message goes out at once, so the common path allocates nothing: `push` returns
// undefined when the frames were handed to the link, and a promise only when they had to wait.
import { SelfmeshError } from '../core/errors.ts';
import { BUFFER_HIGH_WATER, type Link } from './link.ts';

interface Waiter {
  frames: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Outbox {
  private queue: Uint8Array[] | null = null;
  private queuedBytes = 0;
  private waiting: Waiter[] | null = null;
  private closed = false;

  constructor(
    private readonly link: Link,
    /** Bytes the queue may hold before further messages are refused: a peer that never reads. */
    private readonly maxQueuedBytes = 16 * 1024 * 1024,
  ) {
    link.on('drain', () => this.flush());
  }

  get queued(): number {
    return this.queuedBytes;
  }

  /**
   * Queues all frames of one message. Returns undefined if they were all handed to the link now, else
   * a promise that resolves once they were. Throws (CLOSED, TOO_LARGE) if they cannot be queued.
   */
  push(frames: Uint8Array[]): Promise<void> | undefined {
    if (this.closed || !this.link.isOpen) throw new SelfmeshError('CLOSED', 'link closed');
    if (this.queue === null && this.link.bufferedAmount < BUFFER_HIGH_WATER) {
      let sent = 0;
      try {
        for (; sent < frames.length && this.link.bufferedAmount < BUFFER_HIGH_WATER; sent++) this.link.send(frames[sent]!);
      } catch (e) {
        this.fail(e);
        throw e;
      }
      if (sent === frames.length) return undefined;
      frames = frames.slice(sent);
    }
    let bytes = 0;
    for (const f of frames) bytes += f.length;
    if (this.queuedBytes + bytes > this.maxQueuedBytes) {
      throw new SelfmeshError('TOO_LARGE', 'send queue full: the peer is not reading');
    }
    (this.queue ??= []).push(...frames);
    this.queuedBytes += bytes;
    const done = new Promise<void>((resolve, reject) => (this.waiting ??= []).push({ frames: frames.length, resolve, reject }));
    this.flush();
    return done;
  }

  /** push([frame]) without the array: the path of almost every message. */
  pushOne(frame: Uint8Array): Promise<void> | undefined {
    if (this.closed || !this.link.isOpen) throw new SelfmeshError('CLOSED', 'link closed');
    if (this.queue !== null || this.link.bufferedAmount >= BUFFER_HIGH_WATER) return this.push([frame]);
    try {
      this.link.send(frame);
    } catch (e) {
      this.fail(e);
      throw e;
    }
    return undefined;
  }

  flush(): void {
    const queue = this.queue;
    const waiting = this.waiting;
    if (!queue || !waiting) return;
    try {
      while (queue.length > 0 && this.link.isOpen && this.link.bufferedAmount < BUFFER_HIGH_WATER) {
        const frame = queue.shift()!;
        this.queuedBytes -= frame.length;
        this.link.send(frame);
        const head = waiting[0]!;
        if (--head.frames === 0) {
          waiting.shift();
          head.resolve();
        }
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    if (queue.length === 0) {
      this.queue = null;
      this.waiting = null;
    }
  }

  /** Closes for good; the error is built only if a message is still waiting. */
  close(reason: string): void {
    if (this.waiting) this.fail(new SelfmeshError('CLOSED', reason));
    else this.fail(undefined);
  }

  fail(reason: unknown): void {
    this.closed = true;
    const waiting = this.waiting ?? [];
    this.queue = null;
    this.waiting = null;
    this.queuedBytes = 0;
    for (const w of waiting) w.reject(reason);
  }
}
