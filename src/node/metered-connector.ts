// Counts what crosses this node's links (frames and bytes, both ways) by wrapping the connector's
// links: the inspector's messages-per-second and the load a node reports come from here.
import type { Connector, Link, LinkEvents } from '../transport/link.ts';

export interface Traffic {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

function metered(link: Link, traffic: Traffic): Link {
  link.on('message', (frame) => {
    traffic.messagesIn++;
    traffic.bytesIn += frame.length;
  });
  return {
    get remoteId() {
      return link.remoteId;
    },
    get via() {
      return link.via;
    },
    get isOpen() {
      return link.isOpen;
    },
    get bufferedAmount() {
      return link.bufferedAmount;
    },
    send(frame: Uint8Array) {
      link.send(frame);
      traffic.messagesOut++;
      traffic.bytesOut += frame.length;
    },
    close: (reason?: string) => link.close(reason),
    on: <K extends keyof LinkEvents>(type: K, listener: (e: LinkEvents[K]) => void) => link.on(type, listener),
  };
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
