// A Connector over the MemoryNetwork that goes through the same signed offer/answer flow as WebRTC:
// envelopes are signed and verified with signal-envelope.ts, replays are refused, and the "DTLS
// fingerprint" is a random stand-in per endpoint that the network checks when the pair is made, so a
// carrier that swaps an envelope's fingerprint breaks the link exactly as it would with real DTLS.
import type { Clock } from '../core/clock.ts';
import { SelfmeshError } from '../core/errors.ts';
import { toHex, type Id } from '../core/id.ts';
import type { Identity, SignatureScheme } from '../core/identity.ts';
import type { Rng } from '../core/rng.ts';
import type { Connector, Link, SignalEnvelope } from './link.ts';
import type { AnswerWaiting, MemoryNetwork } from './memory-link.ts';
import { ReplayGuard } from './replay-guard.ts';
import { signEnvelope, verifyEnvelope } from './signal-envelope.ts';

export interface MemoryConnectorOptions {
  network: MemoryNetwork;
  identity: Identity;
  scheme: SignatureScheme;
  clock: Clock;
  rng: Rng;
  /** How long an offer waits for its answer and the handshake. */
  connectTimeoutMs?: number;
}

interface PendingOffer {
  to: Id;
  via: Link['via'];
  fingerprint: string;
  resolve(link: Link): void;
  reject(e: unknown): void;
  timer: ReturnType<Clock['setTimeout']>;
}

/** Tokens and stand-in fingerprints: flat hex strings, made without an array of pieces. */
const hex = toHex;

function cancelAnswer(waiting: Map<string, AnswerWaiting>, fingerprint: string): void {
  const w = waiting.get(fingerprint);
  waiting.delete(fingerprint);
  w?.reject(new SelfmeshError('CANCELLED', 'link setup cancelled'));
}

export class MemoryConnector implements Connector {
  private pending = new Map<string, PendingOffer>();
  private replay = new ReplayGuard();
  private readonly timeoutMs: number;

  constructor(private readonly opts: MemoryConnectorOptions) {
    this.timeoutMs = opts.connectTimeoutMs ?? 10_000;
  }

  get id(): Id {
    return this.opts.identity.id;
  }

  async offer(to: Id, via: Link['via']) {
    const { clock, rng, identity } = this.opts;
    const token = hex(rng.bytes(8));
    const fingerprint = `mem ${hex(rng.bytes(8))}`;
    const envelope = signEnvelope(identity, {
      from: identity.id, to, token, kind: 'offer', fingerprint, payload: { fingerprint }, time: clock.now(),
    });
    let entry!: PendingOffer;
    const link = new Promise<Link>((resolve, reject) => {
      const timer = clock.setTimeout(() => this.fail(token, new SelfmeshError('TIMEOUT', `link to ${to.slice(0, 8)} not set up in time`)), this.timeoutMs);
      entry = { to, via, fingerprint, resolve, reject, timer };
    });
    link.catch(() => undefined);
    this.pending.set(token, entry);
    return { envelope, link, cancel: () => this.fail(token, new SelfmeshError('CANCELLED', 'link setup cancelled')) };
  }

  async answer(offer: SignalEnvelope, via: Link['via']) {
    const { clock, rng, identity, network } = this.opts;
    this.check(offer, 'offer');
    const fingerprint = `mem ${hex(rng.bytes(8))}`;
    const envelope = signEnvelope(identity, {
      from: identity.id, to: offer.from, token: offer.token, kind: 'answer', fingerprint, payload: { fingerprint }, time: clock.now(),
    });
    const waiting = network.answered;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const link = new Promise<Link>((resolve, reject) => {
      waiting.set(offer.fingerprint, { answerer: identity.id, fingerprint, resolve, reject });
      timer = clock.setTimeout(() => {
        waiting.delete(offer.fingerprint);
        reject(new SelfmeshError('TIMEOUT', `offerer ${offer.from.slice(0, 8)} never completed`));
      }, this.timeoutMs);
    }).finally(() => clock.clearTimeout(timer));
    link.catch(() => undefined);
    void via;
    return { envelope, link, cancel: () => cancelAnswer(waiting, offer.fingerprint) };
  }

  complete(answer: SignalEnvelope): void {
    this.check(answer, 'answer');
    const entry = this.pending.get(answer.token);
    if (!entry) throw new SelfmeshError('REFUSED', `answer for unknown token ${answer.token}`);
    if (answer.from !== entry.to) throw new SelfmeshError('BAD_SIGNATURE', 'answer from another node than the one offered to');
    this.pending.delete(answer.token);
    this.opts.clock.clearTimeout(entry.timer);
    const { network, identity, clock } = this.opts;
    const timer = clock.setTimeout(() => entry.reject(new SelfmeshError('TIMEOUT', 'handshake timed out')), this.timeoutMs);
    network.handshake(identity.id, answer.from, entry.via, entry.fingerprint, answer.fingerprint, (end, failure) => {
      clock.clearTimeout(timer);
      if (end) entry.resolve(end);
      else if (failure === 'BAD_SIGNATURE') entry.reject(new SelfmeshError('BAD_SIGNATURE', 'handshake fingerprint mismatch'));
      else entry.reject(new SelfmeshError('UNREACHABLE', `no path to ${answer.from.slice(0, 8)}`));
    });
  }

  private check(env: SignalEnvelope, kind: SignalEnvelope['kind']): void {
    const now = this.opts.clock.now();
    verifyEnvelope(this.opts.scheme, env, this.opts.identity.id, now);
    if (env.kind !== kind) throw new SelfmeshError('BAD_MESSAGE', `expected an ${kind}, got an ${env.kind}`);
    this.replay.check(env, now);
  }

  private fail(token: string, e: SelfmeshError): void {
    const entry = this.pending.get(token);
    if (!entry) return;
    this.pending.delete(token);
    this.opts.clock.clearTimeout(entry.timer);
    entry.reject(e);
  }
}
