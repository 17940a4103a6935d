// Counts what crosses this node's links (frames and bytes, both ways) by wrapping the connector's
// links: the inspector's messages-per-second and the load a node reports come from here.
import type { Connector, Link, LinkEvents } from '../transport/link.ts';

export interface Traffic {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * A class rather than an object literal with accessors: the overlay reads `isOpen` and `via` on every
 * routing step, and per-instance accessors made those reads megamorphic (several % of a simulation).
 */
class MeteredLink implements Link {
  constructor(
    private readonly link: Link,
    private readonly traffic: Traffic,
  ) {
    link.on('message', (frame) => {
      traffic.messagesIn++;
      traffic.bytesIn += frame.length;
    });
  }

  get remoteId() {
    return this.link.remoteId;
  }

  get via() {
    return this.link.via;
  }

  get isOpen() {
    return this.link.isOpen;
  }

  get bufferedAmount() {
    return this.link.bufferedAmount;
  }

  send(frame: Uint8Array): void {
    this.link.send(frame);
    this.traffic.messagesOut++;
    this.traffic.bytesOut += frame.length;
  }

  close(reason?: string): void {
    this.link.close(reason);
  }

  on<K extends keyof LinkEvents>(type: K, listener: (e: LinkEvents[K]) => void) {
    return this.link.on(type, listener);
  }
}

function metered(link: Link, traffic: Traffic): Link {
  return new MeteredLink(link, traffic);
}

export function meteredConnector(inner: Connector, traffic: Traffic): Connector {
  const wrap = async (p: ReturnType<Connector['offer']>) => {
    const r = await p;
    const link = r.link.then((l) => metered(l, traffic));
    // Like the inner connector's: a setup that is cancelled before anyone awaits the link must not
    // surface as an unhandled rejection (it crashes Node, and the simulator with it).
    link.catch(() => undefined);
    return { ...r, link };
  };
  return {
    offer: (to, via) => wrap(inner.offer(to, via)),
    answer: (offer, via) => wrap(inner.answer(offer, via)),
    complete: (answer) => inner.complete(answer),
  };
}
