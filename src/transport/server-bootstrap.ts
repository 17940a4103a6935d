// Getting in through the signaling server, and nothing more. A newcomer announces itself on the room
// topic; a few members (not all: each answers with a probability that makes about `wantLinks` answer)
// send it an offer on its own inbox topic, so an offer or answer is relayed to one client only instead
// of the whole room as in y-webrtc. Links made here are tagged 'server'; every later link is
// signaled through the overlay. Topics are plain y-webrtc topics, so any y-webrtc server carries them.
import type { Clock, TimerHandle } from '../core/clock.ts';
import { Counters } from '../core/counters.ts';
import type { Id } from '../core/id.ts';
import type { Rng } from '../core/rng.ts';
import type { Connector, Link, SignalEnvelope } from './link.ts';
import type { SignalingClient } from './signaling-client.ts';

export interface ServerBootstrapOptions {
  client: SignalingClient;
  connector: Connector;
  room: string;
  id: Id;
  clock: Clock;
  rng: Rng;
  /** A link made through the server that no `request` is waiting for (a member answering a newcomer). */
  onLink(link: Link): void;
  /** How long `request` waits for answers before it returns what it has (nothing: this node is the first). */
  requestTimeoutMs?: number;
  /** Links this node wants from the server before the overlay takes over. */
  wantLinks?: number;
  /** How many nodes the room holds, as this node estimates it (1 when it knows nobody). */
  estimateSize(): number;
  /** True while this node still needs server links (not yet joined, or lost all its links). */
  needsLinks(): boolean;
  /** Between announces while links are still needed. */
  announceIntervalMs?: number;
  counters?: Counters;
}

/** After the first link of a request, how long to wait for more before joining with what is there. */
const SETTLE_MS = 150;
/**
 * While others are in the room but none answered, announce again this often. Members answer with
 * probability want/size, so no answer at all happens about e^-want of the time.
 */
const RETRY_MS = 300;
/**
 * A newcomer answers as many offers at a time as it asks links for: every further answer would be one
 * more link through the server, and the overlay signals the rest. An answer whose link has not opened
 * after this long no longer holds the place (its offerer may be frozen or gone).
 */
const ANSWER_HEDGE_MS = 1_000;

export function roomTopic(room: string): string {
  return `selfmesh/${room}`;
}

export function inboxTopic(room: string, id: Id): string {
  return `selfmesh/${room}/${id}`;
}

export class ServerBootstrap {
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly offs: Array<() => void> = [];
  private readonly counters: Counters;
  private readonly inFlight = new Set<Id>();
  /** Offers this node answered whose links have not opened yet, with when each was answered. */
  private readonly answering = new Map<Id, number>();
  private waiting: { count: number; links: Link[]; done(links: Link[]): void } | null = null;

  constructor(private readonly opts: ServerBootstrapOptions) {
    this.counters = opts.counters ?? new Counters();
  }

  start(): void {
    const { client, room, id } = this.opts;
    client.subscribe([roomTopic(room), inboxTopic(room, id)]);
    this.offs.push(client.on('open', () => this.announceIfNeeded()));
    this.offs.push(client.on('announce', ({ from, topic }) => topic === roomTopic(room) && this.onAnnounce(from)));
    this.offs.push(client.on('signal', ({ envelope }) => void this.onSignal(envelope)));
    this.offs.push(
      client.on('echo', ({ topic, clients }) => topic === roomTopic(room) && clients !== null && this.noteRoomSize(clients)),
    );
    if (client.isOpen) this.announceIfNeeded();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.opts.clock.clearTimeout(this.timer);
    for (const off of this.offs.splice(0)) off();
  }

  /**
   * The overlay's bootstrap: links to `count` members of the room (or to the given targets, reached on
   * their inbox topics), or fewer when the time is up. An empty room gives no links: this node is first.
   */
  request({ count, targets }: { count: number; targets?: Id[] }): Promise<Link[]> {
    if (targets && targets.length > 0) {
      return Promise.all(targets.map((t) => this.offerTo(t, true))).then((links) => links.filter((l): l is Link => l !== null));
    }
    this.waiting?.done(this.waiting.links);
    return new Promise((resolve) => {
      const { clock } = this.opts;
      const started = clock.now();
      const patience = this.opts.requestTimeoutMs ?? 2_500;
      let timer: TimerHandle | undefined;
      // Members answer an announce only with some probability: while the server says others are in
      // the room, announce again rather than conclude that this node is the first.
      const tick = () => {
        const waited = clock.now() - started;
        if (entry.links.length > 0 || (!this.othersPresent && waited >= patience) || waited >= 10 * patience) return finish();
        this.announce();
        timer = clock.setTimeout(tick, RETRY_MS);
      };
      const finish = () => {
        clock.clearTimeout(timer);
        if (this.waiting === entry) this.waiting = null;
        resolve(entry.links);
      };
      const entry = { count, links: [] as Link[], done: finish };
      this.waiting = entry;
      this.othersPresent = false;
      this.announce();
      timer = clock.setTimeout(tick, RETRY_MS);
    });
  }

  private othersPresent = false;

  /** Our own announce came back with the room's subscriber count: alone means first, at once. */
  noteRoomSize(clients: number): void {
    this.othersPresent = clients > 1;
    if (clients <= 1 && this.waiting && this.waiting.links.length === 0) this.waiting.done([]);
  }

  private deliver(link: Link): void {
    const w = this.waiting;
    if (w) {
      w.links.push(link);
      if (w.links.length >= w.count) w.done(w.links);
      // One link is enough to join; others that are on their way get a moment to arrive.
      else if (w.links.length === 1) this.opts.clock.setTimeout(() => w.done(w.links), SETTLE_MS);
      return;
    }
    this.opts.onLink(link);
  }

  private announce(): void {
    if (this.opts.client.announce(roomTopic(this.opts.room))) this.counters.inc('bootstrap.announce');
  }

  private schedule(): void {
    if (this.stopped) return;
    const base = this.opts.announceIntervalMs ?? 3_000;
    this.timer = this.opts.clock.setTimeout(() => {
      this.announceIfNeeded();
      this.schedule();
    }, base / 2 + this.opts.rng.next() * base);
  }

  private announceIfNeeded(): void {
    if (this.stopped || !this.opts.needsLinks()) return;
    this.announce();
  }

  /** Answer an announce with probability wantLinks / size: about wantLinks members answer. */
  private onAnnounce(from: Id): void {
    if (from === this.opts.id || this.inFlight.has(from)) return;
    const want = this.opts.wantLinks ?? 2;
    const p = Math.min(1, want / Math.max(1, this.opts.estimateSize()));
    if (this.opts.rng.next() >= p) return;
    void this.offerTo(from, false);
  }

  private async offerTo(to: Id, forRequest: boolean): Promise<Link | null> {
    if (this.inFlight.has(to)) return null;
    this.inFlight.add(to);
    try {
      const { envelope, link } = await this.opts.connector.offer(to, 'server');
      this.opts.client.sendSignal(inboxTopic(this.opts.room, to), envelope);
      this.counters.inc('bootstrap.offer');
      const open = await link;
      if (!forRequest) this.deliver(open);
      return open;
    } catch {
      this.counters.inc('bootstrap.failed');
      return null;
    } finally {
      this.inFlight.delete(to);
    }
  }

  /** True while fewer offers are being answered than links are asked for (slow answers aside). */
  private mayAnswer(): boolean {
    const want = this.waiting ? this.waiting.count - this.waiting.links.length : 1;
    const since = this.opts.clock.now() - ANSWER_HEDGE_MS;
    let pending = 0;
    for (const at of this.answering.values()) if (at > since) pending++;
    return pending < want;
  }

  private async onSignal(envelope: SignalEnvelope): Promise<void> {
    try {
      if (envelope.kind === 'answer') {
        await this.opts.connector.complete(envelope);
        return;
      }
      // Offers are taken only while this node asks for links: the overlay signals every later link.
      if (!this.waiting && !this.opts.needsLinks()) {
        this.counters.inc('bootstrap.ignored');
        return;
      }
      if (!this.mayAnswer()) {
        this.counters.inc('bootstrap.enough');
        return;
      }
      this.answering.set(envelope.from, this.opts.clock.now());
      const { envelope: answer, link } = await this.opts.connector.answer(envelope, 'server');
      this.opts.client.sendSignal(inboxTopic(this.opts.room, envelope.from), answer);
      this.counters.inc('bootstrap.answer');
      const open = await link;
      this.answering.delete(envelope.from);
      this.deliver(open);
    } catch {
      this.answering.delete(envelope.from);
      // A bad, replayed or late signal: the connector already counted why.
      this.counters.inc('bootstrap.refused');
    }
  }
}
