// New links signaled through the overlay itself: the offer is routed to the target's id, the target
// answers, and the answer comes back along the same path. Envelopes are signed end to end and checked
// by the connector (signature, id = hash of key, time window, replay), so no relay can stand in the
// middle. Only a node's first links go through the signaling server.
import * as v from 'valibot';
import { SelfmeshError, isSelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { SignalEnvelope } from '../transport/link.ts';
import type { OverlayContext } from './context.ts';
import { METHOD, SignalAnswer, SignalRequest } from './messages.ts';
import type { Router } from './route.ts';

/** A link older than this whose peer offers again is one the peer no longer has. */
const STALE_LINK_MS = 5_000;
/** After our offer lost a crossing, how long the winning offer has to make a link before ours goes again. */
const CROSSING_RETRY_MS = 1_000;
/** After an offer by greedy routing ended at another node, how long before greedy routing is tried again. */
const UNGUIDED_BACKOFF_MS = 2_000;

export class OverlaySignaling {
  private outgoing = new Map<Id, Promise<boolean>>();
  /**
   * Targets that refused or failed recently are not tried again until then. `unguided`: the offer went
   * by greedy routing, not through a peer linked to the target, so its failure may say only that the
   * route did not reach the target yet (a joiner); an introduction through a linked peer may try again.
   */
  private backoff = new Map<Id, { until: number; unguided: boolean }>();

  constructor(
    private readonly ctx: OverlayContext,
    private readonly router: Router,
  ) {
    router.register(METHOD.signal, SignalRequest, (req) => this.onOffer(req.offer, req.neighbour, req.ready === true));
  }

  isConnecting(id: Id): boolean {
    return this.outgoing.has(id);
  }

  /** True while a recent attempt to `id` failed (so callers pick another candidate). */
  inBackoff(id: Id, introducer?: Id): boolean {
    const entry = this.backoff.get(id);
    if (entry === undefined) return false;
    if (entry.until <= this.ctx.clock.now()) {
      this.backoff.delete(id);
      return false;
    }
    return !(entry.unguided && this.linkedIntroducer(introducer));
  }

  private linkedIntroducer(introducer: Id | undefined): Id | undefined {
    const peer = introducer === undefined ? undefined : this.ctx.table.get(introducer);
    return peer && !peer.suspected ? introducer : undefined;
  }

  get connecting(): number {
    return this.outgoing.size;
  }

  /** Links to `target` through the overlay; resolves true once the link is in the table. */
  connect(target: Id, introducer?: Id): Promise<boolean> {
    const { table, self } = this.ctx;
    if (target === self || table.has(target)) return Promise.resolve(table.has(target));
    const existing = this.outgoing.get(target);
    if (existing) return existing;
    const attempt = this.attempt(target, introducer).finally(() => this.outgoing.delete(target));
    this.outgoing.set(target, attempt);
    return attempt;
  }

  /** `introducer`: a peer that said it is linked to target; the offer goes through it (two hops). */
  private async attempt(target: Id, introducer?: Id): Promise<boolean> {
    const { connector, counters, config } = this.ctx;
    counters.inc('overlay.connect.attempts');
    const { envelope, link, cancel } = await connector.offer(target, 'overlay');
    const { table } = this.ctx;
    const linkedIntroducer = this.linkedIntroducer(introducer);
    try {
      // With no link closer to the target than we are (a joiner told of its neighbourhood), greedy
      // routing would end here at once: the offer starts at our link closest to the target instead (and
      // no hop sends it back to us).
      const firstHop = linkedIntroducer ?? (table.nextHops(target, 1).length === 0 ? table.closestPeers(target, 1)[0] : undefined);
      const neighbour = this.ctx.table.fitsNeighbourhood(target);
      const ready = this.ctx.joined;
      const result = await this.router.route(target, METHOD.signal, { offer: envelope, neighbour, ready }, { timeoutMs: config.routeTimeoutMs, firstHop, avoid: this.ctx.self });
      if (result.responder !== target) throw new SelfmeshError('UNREACHABLE', 'answered by another node');
      const reply = v.safeParse(SignalAnswer, result.reply);
      if (!reply.success) {
        this.ctx.drop('bad-answer');
        throw new SelfmeshError('BAD_MESSAGE', 'malformed answer');
      }
      // Awaited only if there is a wait (a native signature check): the simulator's connector has none.
      const completing = connector.complete(reply.output.answer);
      if (completing) await completing;
      const opened = await link;
      return this.ctx.addLink(opened, { we: ready, they: reply.output.ready, answererNeeds: reply.output.need ?? true });
    } catch (e) {
      cancel();
      counters.inc('overlay.connect.failed');
      counters.inc(`overlay.connect.failedBy.${isSelfmeshError(e) ? e.code : 'other'}`);
      if (isSelfmeshError(e, 'CONFLICT')) {
        this.awaitCrossing(target);
        return false;
      }
      if (this.backoff.size > 1024) this.backoff.clear();
      const now = this.ctx.clock.now();
      if (!linkedIntroducer && isSelfmeshError(e, 'UNREACHABLE')) {
        this.backoff.set(target, { until: now + UNGUIDED_BACKOFF_MS, unguided: true });
        return false;
      }
      this.backoff.set(target, { until: now + config.maintenanceMs, unguided: false });
      // A target that nobody can route to is gone or never existed: forget it as a contact.
      if (isSelfmeshError(e, 'UNREACHABLE') || isSelfmeshError(e, 'TIMEOUT')) this.ctx.contacts.remove(target);
      return false;
    }
  }

  /**
   * Our offer crossed one of `target`'s, whose offer wins. Its offer may not reach us, though (a joiner
   * is reached only through its links): if no link came of it soon, ours goes again, and finds the
   * target no longer offering.
   */
  private awaitCrossing(target: Id): void {
    this.ctx.clock.setTimeout(() => {
      if (!this.ctx.running || this.ctx.table.has(target) || this.outgoing.has(target)) return;
      this.ctx.counters.inc('overlay.connect.crossingRetried');
      void this.connect(target);
    }, CROSSING_RETRY_MS);
  }

  /** Routed `ov.signal`: an offer for this node. Returns the signed answer. */
  private async onOffer(offer: SignalEnvelope, neighbour: boolean, offererReady: boolean): Promise<SignalAnswer> {
    const { self, table, config, connector } = this.ctx;
    if (offer.to !== self) {
      // Greedy routing ended here, so the addressee is not in the overlay: a route to nowhere.
      this.ctx.drop('no-target');
      throw new SelfmeshError('UNREACHABLE', `no node ${offer.to.slice(0, 8)} here`);
    }
    if (offer.kind !== 'offer') {
      this.ctx.drop('bad-signal');
      throw new SelfmeshError('BAD_MESSAGE', 'expected an offer');
    }
    // The offerer sees no link to us (it offers only then). Just after a link opened that is a race with
    // its own offer, refused; later our end is a stale half of a link its side closed or dropped, and
    // the new link replaces it.
    const linked = table.get(offer.from);
    if (linked && this.ctx.clock.now() - linked.linkedAt < STALE_LINK_MS) throw new SelfmeshError('REFUSED', 'already linked');
    if (linked) this.ctx.counters.inc('overlay.connect.staleReplaced');
    // Crossing offers: the smaller id's offer wins on both sides, so exactly one link is made.
    if (this.outgoing.has(offer.from) && self < offer.from) throw new SelfmeshError('CONFLICT', 'crossing offer');
    // An offerer that wants us as its neighbour is taken too: routing to keys near it depends on it.
    const wanted = table.wants(offer.from) || (neighbour && this.plausibleNeighbour(offer.from));
    if (table.size >= config.maxLinks && !linked) {
      if (!wanted || !this.makeRoom(table.fitsNeighbourhood(offer.from) || neighbour)) {
        this.ctx.counters.inc('overlay.connect.refusedFull');
        throw new SelfmeshError('REFUSED', 'link table full');
      }
    }
    let answered;
    try {
      answered = await connector.answer(offer, 'overlay');
    } catch (e) {
      this.ctx.drop(isSelfmeshError(e, 'REFUSED') ? 'replayed-signal' : 'bad-signal');
      throw e;
    }
    const ready = this.ctx.joined;
    // A link we would not have asked for (taken because the offerer wants us as a neighbour, or to be
    // polite) is one we do not need: say so now. A stale half being replaced keeps the usual assumption.
    const need = linked !== undefined || table.wants(offer.from);
    answered.link.then(
      (link) => {
        // The stale half goes only now that its replacement is open.
        if (linked && table.get(offer.from) === linked) this.ctx.dropLink(offer.from, 'replaced');
        return this.ctx.addLink(link, { we: ready, they: offererReady, answererNeeds: need, answered: true });
      },
      () => this.ctx.counters.inc('overlay.connect.answerFailed'),
    );
    return need ? { answer: answered.envelope, ready } : { answer: answered.envelope, ready, need };
  }

  /** A claim to be near us is believed only if the offerer is about as close as our own neighbours. */
  private plausibleNeighbour(id: Id): boolean {
    const { table } = this.ctx;
    const nbrs = table.neighbours();
    if (nbrs.length === 0) return true;
    return table.placement(id).bucket >= table.placement(nbrs[nbrs.length - 1]!).bucket - 2;
  }

  /** Closes one redundant link to make room for a wanted one; false if none can go. */
  makeRoom(forNeighbour = false): boolean {
    const { table, clock } = this.ctx;
    const victim = table.evictionCandidate(2_000, clock.now(), forNeighbour);
    if (!victim) return false;
    this.ctx.counters.inc('overlay.links.evicted');
    this.ctx.dropLink(victim, 'evicted');
    return true;
  }
}
