// Sends frames on a link without flooding it: above the high-water mark of bufferedAmount, frames
// wait in a queue until the link drains. A message's frames stay together and in order.
import { SelfmeshError } from '../core/errors.ts';
import { BUFFER_HIGH_WATER, type Link } from './link.ts';

interface Waiter {
  frames: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Outbox {
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private waiting: Waiter[] = [];
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

  /** Queues all frames of one message. Resolves once they were all handed to the link. */
  push(frames: Uint8Array[]): Promise<void> {
    if (this.closed || !this.link.isOpen) return Promise.reject(new SelfmeshError('CLOSED', 'link closed'));
    let bytes = 0;
    for (const f of frames) bytes += f.length;
    if (this.queuedBytes + bytes > this.maxQueuedBytes) {
      return Promise.reject(new SelfmeshError('TOO_LARGE', 'send queue full: the peer is not reading'));
    }
    this.queue.push(...frames);
    this.queuedBytes += bytes;
    const done = new Promise<void>((resolve, reject) =>
      this.waiting.push({ frames: frames.length, resolve, reject }),
    );
    this.flush();
    return done;
  }

  flush(): void {
    try {
      while (this.queue.length > 0 && this.link.isOpen && this.link.bufferedAmount < BUFFER_HIGH_WATER) {
        const frame = this.queue.shift()!;
        this.queuedBytes -= frame.length;
        this.link.send(frame);
        const head = this.waiting[0]!;
        if (--head.frames === 0) {
          this.waiting.shift();
          head.resolve();
        }
      }
    } catch (e) {
      this.fail(e);
    }
  }

  fail(reason: unknown): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    for (const w of this.waiting.splice(0)) w.reject(reason);
  }
}
