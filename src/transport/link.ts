// A Link is one authenticated, ordered, reliable message pipe to one other node.
// Implementations: WebRTC via simple-peer (browser, and Node with @roamhq/wrtc), and in-memory (sim).
import type { Id } from '../core/id.ts';

export interface LinkEvents {
  message: Uint8Array;
  close: { reason: string };
  /** bufferedAmount fell below the low-water mark. */
  drain: void;
}

export interface Link {
  /** The authenticated id of the node at the other end. */
  readonly remoteId: Id;
  /** How this link was signaled: through the signaling server, or through the overlay. */
  readonly via: 'server' | 'overlay' | 'direct';
  readonly isOpen: boolean;
  /** Bytes queued but not yet sent; senders hold back above the high-water mark. */
  readonly bufferedAmount: number;
  /**
   * Sends one frame (at most FRAME_MAX bytes; larger messages are chunked by the framing layer). The
   * link owns the frame from here on: the caller must not change it.
   */
  send(frame: Uint8Array): void;
  close(reason?: string): void;
  on<K extends keyof LinkEvents>(type: K, listener: (event: LinkEvents[K]) => void): () => void;
}

/** Largest frame handed to Link.send (WebRTC data channels are safe at 16 KiB). */
export const FRAME_MAX = 16 * 1024;
export const BUFFER_HIGH_WATER = 1024 * 1024;
export const BUFFER_LOW_WATER = 256 * 1024;

/**
 * A signal to be carried from one node to another (through the signaling server or the overlay) to set
 * up a link. `payload` is opaque to carriers (an SDP for WebRTC); the envelope is signed by the sender.
 */
export interface SignalEnvelope {
  from: Id;
  to: Id;
  /** Sender's public key: the receiver checks that its hash is `from`. */
  publicKey: Uint8Array;
  /** Pairs an offer with its answer, and stops replays. */
  token: string;
  kind: 'offer' | 'answer';
  /** DTLS fingerprint taken from the SDP (or the in-memory link's stand-in). */
  fingerprint: string;
  payload: unknown;
  /** Milliseconds on the sender's clock; receivers refuse envelopes far from their own time. */
  time: number;
  signature: Uint8Array;
}

/** Opens links. One per node; the transport behind it is WebRTC or in-memory. */
export interface Connector {
  /** Starts an outgoing link: returns the offer envelope to carry, and the link once answered. */
  offer(to: Id, via: Link['via']): Promise<{ envelope: SignalEnvelope; link: Promise<Link>; cancel(): void }>;
  /** Answers a carried offer: returns the answer envelope to carry back, and the link. Throws on a bad offer. */
  answer(offer: SignalEnvelope, via: Link['via']): Promise<{ envelope: SignalEnvelope; link: Promise<Link>; cancel(): void }>;
  /**
   * Delivers a carried answer to the pending offer with that token. Throws (or rejects) on a bad answer:
   * a promise where the answer's signature is checked natively, nothing to wait for otherwise.
   */
  complete(answer: SignalEnvelope): void | Promise<void>;
}
