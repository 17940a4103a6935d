// Neighbourhood consistency by construction (as Pastry's leaf set and Chord's stabilize). Greedy routing
// ends at the true closest node iff every node has a live link in each of its non-empty buckets; the
// deep buckets are exactly the ones the neighbourhood (the k closest nodes) covers. So:
// - stabilize: ask neighbours for their linked nodes closest to OUR id and link to those closer than our
//   k-th; at join, repeated with every new neighbour until nothing changes, later one neighbour a round;
// - introduce: when a node enters our neighbourhood we tell our other neighbours about it, and it about
//   them; a receiver links if it fits its own neighbourhood and in turn introduces it further, so the
//   news spreads exactly through the nodes whose neighbourhood it belongs to;
// - links to learned ids are signaled through the introducer (a peer linked to them: one relay hop), so
//   they work even while the routing state is still inconsistent.
import * as v from 'valibot';
import type { TimerHandle } from '../core/clock.ts';
import { compareDistance, type Id } from '../core/id.ts';
import type { OverlayContext } from './context.ts';
import { IntroduceNotice, METHOD, NearRequest, NeighboursReply } from './messages.ts';
import type { OverlaySignaling } from './overlay-signaling.ts';

export interface StabilizeOptions {
  /** Neighbours asked first (then every neighbour that a step adds). */
  ask: number;
  /** Steps at most (each: one request to each asked neighbour, then the new links). */
  maxSteps: number;
}

/** How long a neighbour has to answer `ov.near` before stabilization goes on without it. */
const NEAR_TIMEOUT_MS = 2_000;
/** Neighbourhood changes within this window are announced together. */
const ANNOUNCE_DELAY_MS = 250;
/** How long a joiner's list of its neighbours (in its `ready`) is trusted to spare introductions. */
const THEIR_NEIGHBOURS_MS = 10_000;

export class Stabilizer {
  private rotation = 0;
  private pendingAnnounce = new Set<Id>();
  private announceTimer: TimerHandle | undefined;
  /** Set by the façade: ids recently confirmed dead are not linked again. */
  deadCheck: (id: Id) => boolean = () => false;

  constructor(
    private readonly ctx: OverlayContext,
    private readonly signaling: OverlaySignaling,
  ) {
    ctx.methods.register(METHOD.near, NearRequest, (body, call) => ({ ids: ctx.table.closestPeers(body.key, body.n, call.from) }));
    ctx.methods.registerNotify(METHOD.introduce, IntroduceNotice, (body, call) => this.onIntroduce(call.from, body.ids));
  }

  /** Would a link to id make our neighbourhood more correct (or fill a hole in the table)? */
  private wanted(id: Id, introducer: Id): boolean {
    const { table, self } = this.ctx;
    if (id === self || table.has(id) || this.deadCheck(id) || this.signaling.inBackoff(id, introducer)) return false;
    return table.wants(id);
  }

  private onIntroduce(from: Id, ids: Id[]): void {
    const { table, contacts } = this.ctx;
    if (!table.has(from)) return;
    for (const id of ids) {
      if (id === this.ctx.self || table.has(id)) continue;
      contacts.add(id, from);
      if (this.wanted(id, from) && table.fitsNeighbourhood(id)) void this.signaling.connect(id, from);
    }
  }

  /**
   * The neighbourhood gained `added`: introduce them soon. Additions come in bursts (a join brings
   * several neighbours within a few round trips), and one announcement for the burst costs a fraction
   * of one per addition.
   */
  queueAnnounce(added: Id[]): void {
    for (const id of added) this.pendingAnnounce.add(id);
    this.scheduleAnnounce();
  }

  /**
   * A joiner is announced once it is ready: its `ready` names the neighbours its join linked, who need
   * no introduction, and until then it is no next hop, so nothing waits for it.
   */
  peerReady(id: Id): void {
    if (this.pendingAnnounce.has(id)) this.scheduleAnnounce();
  }

  private scheduleAnnounce(): void {
    if (this.announceTimer !== undefined) return;
    this.announceTimer = this.ctx.clock.setTimeout(() => {
      this.announceTimer = undefined;
      const { table } = this.ctx;
      const nbrs = new Set(table.neighbours());
      const due: Id[] = [];
      for (const id of this.pendingAnnounce) {
        if (!nbrs.has(id)) this.pendingAnnounce.delete(id);
        else if (!table.get(id)?.joining) {
          due.push(id);
          this.pendingAnnounce.delete(id);
        }
      }
      if (due.length > 0 && this.ctx.running) this.announce(due);
    }, ANNOUNCE_DELAY_MS);
  }

  /**
   * Introduce `added` to our other neighbours, and those to them: each only where it may belong to the
   * receiver's neighbourhood. Most would not (neighbourhoods overlap), and a receiver never links one
   * that does not fit.
   */
  private announce(added: Id[]): void {
    const { table, counters } = this.ctx;
    const nbrs = table.neighbours();
    let skipped = 0;
    for (const to of nbrs) skipped += this.introduce(to, added.filter((id) => id !== to));
    for (const id of added) skipped += this.introduce(id, nbrs.filter((n) => n !== id && !added.includes(n)));
    counters.inc('overlay.stabilize.announced', added.length);
    counters.inc('overlay.stabilize.introSkipped', skipped);
  }

  /** Introduces to `to` those candidates that may belong to its neighbourhood; returns how many were left out. */
  private introduce(to: Id, candidates: Id[]): number {
    const ids = this.mayBelong(to, candidates.filter((id) => !this.knownLinked(to, id)));
    if (ids.length > 0) this.ctx.table.get(to)?.rpc.notify(METHOD.introduce, { ids });
    return candidates.length - ids.length;
  }

  /** Did `a` or `b` name the other as its neighbour in a recent `ready`? Then they are linked. */
  private knownLinked(a: Id, b: Id): boolean {
    const now = this.ctx.clock.now();
    return this.named(a, b, now) || this.named(b, a, now);
  }

  /** Did our link `x` name `y` among its neighbours in a recent `ready`? */
  private named(x: Id, y: Id, now: number): boolean {
    const told = this.ctx.table.get(x)?.theirNeighbours;
    return told !== undefined && now - told.at < THEIR_NEIGHBOURS_MS && told.ids.has(y);
  }

  /**
   * Those of `ids` (our links) that may be among the nodes closest to `to`. One is not if we know more
   * than k live nodes closer to `to`, ourselves included: `to`'s true neighbourhood is then full without
   * it. The one node of slack covers a closer node that died and is not yet detected.
   */
  private mayBelong(to: Id, ids: Id[]): Id[] {
    const { table, config } = this.ctx;
    if (ids.length === 0) return ids;
    const room = config.neighbourhoodSize + 1;
    // Ourselves among the candidates: we are linked to `to`, so likely close to it too.
    const ranked = table.closest(to, room, to);
    if (ranked.length < room) return ids;
    return ids.filter((id) => ranked.includes(id));
  }

  /**
   * Asks neighbours for the nodes they know closest to us and links to those that fit; then asks the
   * neighbours that this added, until a step adds nothing. Resolves with the links made.
   */
  async stabilize({ ask, maxSteps }: StabilizeOptions): Promise<number> {
    const { table, self, config, contacts, counters } = this.ctx;
    const asked = new Set<Id>();
    let linked = 0;
    for (let step = 0; step < maxSteps; step++) {
      const fresh = table.neighbours().filter((id) => !asked.has(id));
      let targets: Id[];
      if (step === 0 && ask < fresh.length) {
        targets = [];
        for (let i = 0; i < ask; i++) targets.push(fresh[(this.rotation + i) % fresh.length]!);
        this.rotation += ask;
      } else targets = fresh;
      if (targets.length === 0) break;
      const found = new Map<Id, Id>();
      await Promise.all([...new Set(targets)].map(async (id) => {
        asked.add(id);
        const peer = table.get(id);
        if (!peer) return;
        try {
          // A neighbour that does not answer within a few round trips is skipped: one link that is closing
          // (a duplicate, say) must not hold a join for a full RPC timeout.
          const reply = await peer.rpc.request(METHOD.near, { key: self, n: config.neighbourhoodSize + 4 }, { timeoutMs: NEAR_TIMEOUT_MS });
          const parsed = v.safeParse(NeighboursReply, reply);
          if (!parsed.success) return this.ctx.drop('bad-near');
          for (const x of parsed.output.ids) {
            if (x === self || found.has(x)) continue;
            found.set(x, id);
            if (!table.has(x)) contacts.add(x, id);
          }
        } catch {
          // The failure detector deals with a neighbour that does not answer.
        }
      }));
      counters.inc('overlay.stabilize.asked', targets.length);
      const picks = [...found.keys()]
        .filter((id) => this.wanted(id, found.get(id)!) && table.fitsNeighbourhood(id))
        .sort((a, b) => compareDistance(self, a, b))
        .slice(0, config.neighbourhoodSize);
      if (picks.length === 0) break;
      const results = await Promise.all(picks.map((id) => this.signaling.connect(id, found.get(id))));
      const made = results.filter(Boolean).length;
      linked += made;
      counters.inc('overlay.stabilize.linked', made);
    }
    return linked;
  }
}
