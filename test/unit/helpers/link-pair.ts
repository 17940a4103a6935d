// Two connected in-memory links delivering frames asynchronously (a microtask), for unit tests.
import { Emitter } from '../../../src/core/emitter.ts';
import type { Id } from '../../../src/core/id.ts';
import type { Link, LinkEvents } from '../../../src/transport/link.ts';

export class TestLink implements Link {
  readonly via = 'direct' as const;
  isOpen = true;
  bufferedAmount = 0;
  peer!: TestLink;
  sentFrames = 0;
  private events = new Emitter<LinkEvents>();

  constructor(readonly remoteId: Id) {}

  send(frame: Uint8Array): void {
    if (!this.isOpen) throw new Error('closed');
    this.sentFrames++;
    const copy = frame.slice();
    queueMicrotask(() => this.peer.isOpen && this.peer.events.emit('message', copy));
  }
  /** Delivers raw bytes to this link's listeners as if the peer had sent them. */
  inject(frame: Uint8Array): void {
    this.events.emit('message', frame);
  }
  close(reason = 'closed'): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.events.emit('close', { reason });
    this.peer.close(reason);
  }
  drain(): void {
    this.events.emit('drain', undefined);
  }
  on<K extends keyof LinkEvents>(type: K, listener: (event: LinkEvents[K]) => void): () => void {
    return this.events.on(type, listener);
  }
}

export function linkPair(a: Id, b: Id): [TestLink, TestLink] {
  const la = new TestLink(b);
  const lb = new TestLink(a);
  la.peer = lb;
  lb.peer = la;
  return [la, lb];
}
