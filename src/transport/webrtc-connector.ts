// Opens authenticated WebRTC links. Offers and answers are signed envelopes (signal-envelope.ts); the
// DTLS handshake then proves that the far end holds the certificate whose fingerprint was signed, so
// the link's remoteId is authenticated end to end. The same file serves browsers and Node: the
// SimplePeer constructor and (in Node) the wrtc implementation come in as parameters.
import type { Clock } from '../core/clock.ts';
import { Counters } from '../core/counters.ts';
import { SelfmeshError, errorMessage } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { Identity, SignatureScheme } from '../core/identity.ts';
import { cryptoRng, type Rng } from '../core/rng.ts';
import type SimplePeer from 'simple-peer';
import type { Connector, Link, SignalEnvelope } from './link.ts';
import { ReplayGuard } from './replay-guard.ts';
import {
  DEFAULT_MAX_SKEW_MS,
  fingerprintOf,
  signEnvelope,
  signedBytes,
  verifyEnvelope,
} from './signal-envelope.ts';
import { WebrtcLink, type PeerInstance } from './webrtc-link.ts';

export type SimplePeerConstructor = new (opts?: SimplePeer.Options) => PeerInstance;

export interface WebrtcConnectorOptions {
  identity: Identity;
  scheme: SignatureScheme;
  clock: Clock;
  SimplePeer: SimplePeerConstructor;
  /** @roamhq/wrtc in Node; absent in browsers. */
  wrtc?: SimplePeer.Options['wrtc'];
  /** The room's own ICE servers; never a public default. */
  iceServers?: RTCIceServer[];
  /** For offer tokens (crypto randomness by default). */
  rng?: Rng;
  maxSkewMs?: number;
  /** A link that is not open this long after signaling started is abandoned. */
  connectTimeoutMs?: number;
  counters?: Counters;
}

/** Largest SDP we hand to the WebRTC stack (a data-channel SDP without trickle is about 1 KiB). */
const MAX_SDP = 16 * 1024;

interface PendingOffer {
  to: Id;
  peer: PeerInstance;
}

export interface Signaled {
  envelope: SignalEnvelope;
  link: Promise<Link>;
  cancel(): void;
}

export class WebrtcConnector implements Connector {
  readonly counters: Counters;
  private readonly pending = new Map<string, PendingOffer>();
  private readonly replay: ReplayGuard;
  private readonly rng: Rng;

  constructor(private readonly opts: WebrtcConnectorOptions) {
    this.counters = opts.counters ?? new Counters();
    this.replay = new ReplayGuard(opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS);
    this.rng = opts.rng ?? cryptoRng();
  }

  get id(): Id {
    return this.opts.identity.id;
  }

  async offer(to: Id, via: Link['via']): Promise<Signaled> {
    if (to === this.id) throw new SelfmeshError('REFUSED', 'cannot link to ourselves');
    const token = Array.from(this.rng.bytes(16), (b) => b.toString(16).padStart(2, '0')).join('');
    const peer = this.createPeer(true);
    const link = this.linkWhenOpen(peer, to, via);
    try {
      const sdp = await this.localDescription(peer, 'offer');
      const envelope = this.sign(to, token, 'offer', sdp);
      this.pending.set(token, { to, peer });
      const forget = () => this.pending.delete(token);
      link.then(forget, forget);
      this.counters.inc('connector.offers');
      return { envelope, link, cancel: () => this.cancel(peer) };
    } catch (e) {
      this.cancel(peer);
      throw e;
    }
  }

  async answer(offer: SignalEnvelope, via: Link['via']): Promise<Signaled> {
    const payload = this.check(offer, 'offer', await this.checkSignatureNatively(offer));
    const peer = this.createPeer(false);
    const link = this.linkWhenOpen(peer, offer.from, via);
    try {
      peer.signal(payload);
      const sdp = await this.localDescription(peer, 'answer');
      const envelope = this.sign(offer.from, offer.token, 'answer', sdp);
      this.counters.inc('connector.answers');
      return { envelope, link, cancel: () => this.cancel(peer) };
    } catch (e) {
      this.cancel(peer);
      throw e;
    }
  }

  complete(answer: SignalEnvelope): void | Promise<void> {
    if (!this.opts.scheme.verifyAsync) return this.deliverAnswer(answer, false);
    return this.checkSignatureNatively(answer).then((checked) => this.deliverAnswer(answer, checked));
  }

  private deliverAnswer(answer: SignalEnvelope, signatureChecked: boolean): void {
    const payload = this.check(answer, 'answer', signatureChecked);
    const pending = this.pending.get(answer.token);
    if (!pending)
      throw new SelfmeshError('REFUSED', `refused signal: no pending offer for token ${answer.token}`);
    if (pending.to !== answer.from) {
      throw new SelfmeshError(
        'REFUSED',
        `refused signal: answer from ${answer.from.slice(0, 8)}, offer was to ${pending.to.slice(0, 8)}`,
      );
    }
    this.pending.delete(answer.token);
    pending.peer.signal(payload);
  }

  /** Tokens of offers still waiting for an answer (for tests and the inspector). */
  pendingOffers(): number {
    return this.pending.size;
  }

  /**
   * Whether the platform's native Ed25519 found a signal's signature good: then `check` does not check it
   * again in JavaScript, and each end of a link spends a fraction of a millisecond on it instead of
   * 3 ms. Anything else (no native check, a malformed envelope, a bad signature) is left to `check`,
   * which counts and explains it.
   */
  private async checkSignatureNatively(env: SignalEnvelope): Promise<boolean> {
    const { scheme } = this.opts;
    if (!scheme.verifyAsync || !(env.publicKey instanceof Uint8Array) || !(env.signature instanceof Uint8Array)) return false;
    try {
      // A copy: the signed bytes are a view of the encoder's buffer, and the check reads them after a wait.
      return await scheme.verifyAsync(env.publicKey, signedBytes(env).slice(), env.signature);
    } catch {
      return false;
    }
  }

  /** Verification, payload shape, then replay: every refusal is counted and thrown with its reason. */
  private check(env: SignalEnvelope, kind: SignalEnvelope['kind'], signatureChecked = false): SimplePeer.SignalData {
    try {
      verifyEnvelope(this.opts.scheme, env, this.id, this.opts.clock.now(), this.opts.maxSkewMs, signatureChecked);
      if (env.kind !== kind)
        throw new SelfmeshError('BAD_MESSAGE', `refused signal: expected an ${kind}, got an ${env.kind}`);
      const p = env.payload as { type?: unknown; sdp?: unknown } | null;
      if (
        typeof p !== 'object' ||
        p === null ||
        p.type !== kind ||
        typeof p.sdp !== 'string' ||
        p.sdp.length > MAX_SDP
      ) {
        throw new SelfmeshError('BAD_MESSAGE', `refused signal: payload is not an ${kind} SDP`);
      }
      this.replay.check(env, this.opts.clock.now());
      // Only the two fields we checked reach the WebRTC stack.
      return { type: kind, sdp: p.sdp };
    } catch (e) {
      this.counters.inc(`connector.refused.${(e as SelfmeshError).code ?? 'INTERNAL'}`);
      throw e;
    }
  }

  private sign(
    to: Id,
    token: string,
    kind: SignalEnvelope['kind'],
    sdp: { type: string; sdp: string },
  ): SignalEnvelope {
    const fingerprint = fingerprintOf(sdp.sdp);
    if (!fingerprint) throw new SelfmeshError('INTERNAL', `local ${kind} has no DTLS fingerprint`);
    return signEnvelope(this.opts.identity, {
      from: this.id,
      to,
      token,
      kind,
      fingerprint,
      payload: { type: sdp.type, sdp: sdp.sdp },
      time: this.opts.clock.now(),
    });
  }

  private createPeer(initiator: boolean): PeerInstance {
    const options: SimplePeer.Options = {
      initiator,
      // One offer, one answer: host candidates gather in milliseconds with no STUN servers.
      trickle: false,
      config: { iceServers: this.opts.iceServers ?? [] },
    };
    if (this.opts.wrtc) options.wrtc = this.opts.wrtc;
    return new this.opts.SimplePeer(options);
  }

  /** The complete local SDP (trickle is off, so it carries every candidate). */
  private localDescription(
    peer: PeerInstance,
    kind: 'offer' | 'answer',
  ): Promise<{ type: string; sdp: string }> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        peer.off('signal', onSignal);
        peer.off('error', onError);
        peer.off('close', onClose);
      };
      const onSignal = (data: SimplePeer.SignalData) => {
        const d = data as { type?: string; sdp?: string };
        if (d.type !== kind || typeof d.sdp !== 'string') return;
        cleanup();
        resolve({ type: d.type, sdp: d.sdp });
      };
      const onError = (err: Error) => {
        cleanup();
        reject(new SelfmeshError('INTERNAL', `could not create ${kind}: ${err.message}`, { cause: err }));
      };
      const onClose = () => {
        cleanup();
        reject(new SelfmeshError('CANCELLED', `${kind} cancelled`));
      };
      peer.on('signal', onSignal);
      peer.on('error', onError);
      peer.on('close', onClose);
    });
  }

  private linkWhenOpen(peer: PeerInstance, remoteId: Id, via: Link['via']): Promise<Link> {
    // Created before signaling, so frames sent right after the channel opens are not missed.
    const link = new WebrtcLink(peer, remoteId, via, this.opts.clock);
    const timeoutMs = this.opts.connectTimeoutMs ?? 30_000;
    const started = this.opts.clock.now();
    const promise = new Promise<Link>((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void) => {
        if (done) return;
        done = true;
        this.opts.clock.clearTimeout(timer);
        fn();
      };
      const timer = this.opts.clock.setTimeout(() => {
        finish(() =>
          reject(
            new SelfmeshError('TIMEOUT', `link to ${remoteId.slice(0, 8)} not open after ${timeoutMs} ms`),
          ),
        );
        peer.destroy();
      }, timeoutMs);
      peer.once('connect', () =>
        finish(() => {
          this.counters.inc('connector.links');
          this.counters.inc('connector.setupMs', Math.round(this.opts.clock.now() - started));
          resolve(link);
        }),
      );
      peer.once('error', (err: Error) =>
        finish(() =>
          reject(
            new SelfmeshError('UNREACHABLE', `link to ${remoteId.slice(0, 8)} failed: ${errorMessage(err)}`, {
              cause: err,
            }),
          ),
        ),
      );
      peer.once('close', () =>
        finish(() =>
          reject(new SelfmeshError('CANCELLED', `link to ${remoteId.slice(0, 8)} closed before it opened`)),
        ),
      );
    });
    promise.catch(() => this.counters.inc('connector.failed'));
    return promise;
  }

  private cancel(peer: PeerInstance): void {
    for (const [token, p] of this.pending) if (p.peer === peer) this.pending.delete(token);
    peer.destroy();
  }
}
