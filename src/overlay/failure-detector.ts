// Failure detection: any traffic counts as a heartbeat; idle links get a cheap ping; a peer is
// suspected only after several missed pings AND a long silence (a hidden tab's timers may run late),
// and a suspected peer is checked through other nodes before it is declared dead. Neighbour links (the
// replica holders) are pinged more often and suspected sooner, still never on a 15 s freeze.
import { every } from '../core/clock.ts';
import type { Id } from '../core/id.ts';
import * as v from 'valibot';
import type { OverlayContext } from './context.ts';
import { MAX_PING_RTT_MS, METHOD, PingBody, PingReply, ProbeReply, ProbeRequest } from './messages.ts';
import type { Peer } from './routing-table.ts';

/** Every link is looked at on every this many ticks (the neighbours and the silent ones on each). */
export const FAR_EVERY = 4;

export class FailureDetector {
  private stop: (() => void) | null = null;
  /** Peers whose link closed on purpose after a leave notice: no check, no `dead`. */
  readonly leaving = new Set<Id>();
  /** Recently confirmed dead; not linked again from stale contacts for a while. */
  readonly recentlyDead = new Map<Id, number>();
  /** When the first of a peer's pings that are still unanswered was sent. */
  private readonly unansweredSince = new WeakMap<Peer, number>();
  /** Peers whose last ping went unanswered: looked at on every tick until they answer or go. */
  private readonly watched = new Set<Peer>();
  private ticks = 0;
  /**
   * Peers the layers above rely on beyond the neighbourhood (storage: the fellow holders of its keys):
   * pinged as often as neighbours, so that a silent crash among them shows within a ping timeout or two
   * rather than when the dead link closes, half a minute later. Suspicion keeps the far-link rules.
   */
  private reliedOn = new Set<Id>();

  constructor(private readonly ctx: OverlayContext) {
    ctx.methods.register(METHOD.ping, PingBody, (rtt, call) => {
      if (typeof rtt === 'number') ctx.table.get(call.from)?.rpc.notePeerRtt(rtt);
      return ctx.table.size;
    });
    ctx.methods.register(METHOD.probe, ProbeRequest, (body) => this.onProbe(body.target));
  }

  start(): void {
    this.stop ??= every(this.ctx.clock, this.ctx.config.detectorTickMs * (0.9 + 0.2 * this.ctx.rng.next()), () => this.tick());
  }

  halt(): void {
    this.stop?.();
    this.stop = null;
    this.watched.clear();
  }

  /** Replaces the set of peers relied on (see reliedOn; not `watched`, the peers with a missed ping). */
  relyOn(ids: Iterable<Id>): void {
    this.reliedOn = new Set(ids);
  }

  isRecentlyDead(id: Id): boolean {
    const until = this.recentlyDead.get(id);
    if (until === undefined) return false;
    if (until < this.ctx.clock.now()) {
      this.recentlyDead.delete(id);
      return false;
    }
    return true;
  }

  /**
   * Looks at the neighbours and at the peers with an unanswered ping on every tick, and at every link
   * only on every FAR_EVERY-th: a far link's ping is due after a minute, and the walk over every link of
   * every node was the largest cost of an idle simulated overlay.
   */
  private tick(): void {
    const { table } = this.ctx;
    // Also refreshes each peer's `neighbour` flag.
    const nbrs = table.neighbours();
    if (this.ticks++ % FAR_EVERY === 0) {
      for (const peer of table.peers.values()) this.check(peer);
      return;
    }
    for (const id of nbrs) this.check(table.get(id)!);
    for (const id of this.reliedOn) {
      const peer = table.get(id);
      if (peer && !peer.neighbour) this.check(peer);
    }
    for (const peer of this.watched) {
      if (table.get(peer.id) !== peer || peer.suspected) this.watched.delete(peer);
      else if (!peer.neighbour) this.check(peer);
    }
  }

  private check(peer: Peer): void {
    const { clock, config } = this.ctx;
    if (peer.suspected) return;
    const now = clock.now();
    const neighbour = peer.neighbour === true;
    const idleMs = neighbour || this.reliedOn.has(peer.id) ? config.neighbourPingIdleMs : config.pingIdleMs;
    if (this.overdue(peer, neighbour)) {
      this.suspect(peer);
    } else if (now - peer.lastHeard >= idleMs && !peer.pingInFlight && now - peer.lastPingAt >= (peer.missedPings > 0 ? config.pingTimeoutMs : idleMs)) {
      void this.ping(peer).then((ok) => {
        if (!ok && neighbour) this.pingAgain(peer);
      });
    }
  }

  /**
   * Whether a peer has been quiet long enough to be suspected: missed pings and a long silence; on a
   * neighbour link also a first unanswered ping sent long enough ago. A frozen tab answers nothing sent
   * while it is frozen, but the last thing heard from it may be older than the freeze by a ping
   * interval: the silence alone would suspect a 15 s freeze too early.
   */
  private overdue(peer: Peer, neighbour: boolean): boolean {
    const { clock, config } = this.ctx;
    const now = clock.now();
    if (peer.missedPings < config.suspectMissedPings) return false;
    if (!neighbour) return now - peer.lastHeard >= config.suspectSilenceMs;
    const since = this.unansweredSince.get(peer);
    return now - peer.lastHeard >= config.neighbourSuspectSilenceMs &&
      since !== undefined && since >= peer.lastHeard && now - since >= config.neighbourUnansweredMs;
  }

  /**
   * A ping to a neighbour went unanswered: suspect it as soon as it is overdue, and until then keep one
   * ping in flight, so that the moment comes at a missed reply rather than at a later tick. Costs one
   * ping per timeout, and only on a link that has gone quiet.
   */
  private pingAgain(peer: Peer): void {
    const { table, clock, config } = this.ctx;
    const current = () => table.get(peer.id) === peer && !peer.suspected && !peer.pingInFlight && this.stop !== null;
    if (!current() || !table.neighbours().includes(peer.id)) return;
    if (this.overdue(peer, true)) {
      this.suspect(peer);
      return;
    }
    const again = () => {
      if (!current()) return;
      void this.ping(peer).then((ok) => {
        if (!ok) this.pingAgain(peer);
      });
    };
    // A ping that failed at once (not by timing out) waits out the rest of a timeout: no busy loop.
    const wait = peer.lastPingAt + config.pingTimeoutMs - clock.now();
    if (wait > 0) clock.setTimeout(again, wait);
    else again();
  }

  private async ping(peer: Peer): Promise<boolean> {
    const { clock, config } = this.ctx;
    const sent = clock.now();
    peer.pingInFlight = true;
    peer.lastPingAt = sent;
    try {
      // A round trip the body cannot carry is left out: the ping itself must never be refused for it.
      const rtt = peer.rpc.rttMs;
      const body = rtt === null || rtt > MAX_PING_RTT_MS ? null : Math.round(rtt);
      const reply = await peer.rpc.request(METHOD.ping, body, { timeoutMs: config.pingTimeoutMs });
      if (!v.is(PingReply, reply)) this.ctx.drop('bad-pong');
      peer.missedPings = 0;
      this.unansweredSince.delete(peer);
      this.watched.delete(peer);
      return true;
    } catch {
      peer.missedPings++;
      this.watched.add(peer);
      // The run of unanswered pings starts again if anything was heard since it began.
      const since = this.unansweredSince.get(peer);
      if (since === undefined || peer.lastHeard > since) this.unansweredSince.set(peer, sent);
      return false;
    } finally {
      peer.pingInFlight = false;
    }
  }

  /** A request to this peer timed out or its link failed: check it now rather than at the next tick. */
  reportFailure(id: Id): void {
    const peer = this.ctx.table.get(id);
    if (!peer || peer.suspected || peer.pingInFlight) return;
    void this.ping(peer).then((ok) => {
      if (!ok && this.ctx.table.get(id) === peer && !peer.suspected) this.suspect(peer);
    });
  }

  private suspect(peer: Peer): void {
    peer.suspected = true;
    this.ctx.table.invalidate();
    this.ctx.counters.inc('overlay.fd.suspected');
    this.ctx.events.emit('suspected', { id: peer.id });
    void this.secondOpinion(peer.id).then((alive) => {
      if (this.ctx.table.get(peer.id) !== peer) return;
      if (alive) {
        // Others still reach it, so only our link is broken: drop the link, keep the node.
        this.ctx.counters.inc('overlay.fd.refuted');
        this.ctx.dropLink(peer.id, 'broken');
      } else {
        this.declareDead(peer.id);
      }
    });
  }

  /** The link to a peer closed without a leave notice: is the node gone or only the link? */
  onLinkLost(id: Id): void {
    if (this.leaving.delete(id)) return;
    this.ctx.events.emit('suspected', { id });
    void this.secondOpinion(id).then((alive) => {
      if (!alive) this.declareDead(id);
    });
  }

  private declareDead(id: Id): void {
    const { clock, config, contacts, counters, events } = this.ctx;
    this.recentlyDead.set(id, clock.now() + 10 * config.maintenanceMs);
    contacts.remove(id);
    if (this.ctx.table.has(id)) this.ctx.dropLink(id, 'dead');
    counters.inc('overlay.fd.dead');
    events.emit('dead', { id });
  }

  /** Asks up to two other peers (those closest to the suspect, most likely linked to it). */
  private async secondOpinion(target: Id): Promise<boolean> {
    const { table, config } = this.ctx;
    const helpers = table.closest(target, 4).filter((id) => id !== target && id !== this.ctx.self).slice(0, 2);
    for (const id of helpers) {
      const helper = table.get(id);
      if (!helper) continue;
      try {
        const reply = await helper.rpc.request(METHOD.probe, { target }, { timeoutMs: config.pingTimeoutMs * 2, relayed: true });
        const parsed = v.safeParse(ProbeReply, reply);
        if (!parsed.success) {
          this.ctx.drop('bad-probe-reply');
          continue;
        }
        if (parsed.output.alive === true) return true;
        if (parsed.output.alive === false) return false;
      } catch {
        // That helper could not tell; ask the next.
      }
    }
    return false;
  }

  private async onProbe(target: Id): Promise<{ alive: boolean | null }> {
    const { table, clock, config } = this.ctx;
    const peer = table.get(target);
    if (!peer) return { alive: this.isRecentlyDead(target) ? false : null };
    if (peer.suspected) return { alive: false };
    // Heard within what a frozen tab may show (a neighbour) or the silence that suspects (other links):
    // alive. A shorter bound for neighbours would let one failed route (reportFailure suspects after a
    // single missed ping) get a tab that froze for a few seconds declared dead; its link is dropped instead.
    const recent = table.neighbours().includes(target) ? config.neighbourSuspectSilenceMs : Math.min(config.pingIdleMs, config.suspectSilenceMs);
    if (clock.now() - peer.lastHeard < recent) return { alive: true };
    return { alive: await this.ping(peer) };
  }
}
