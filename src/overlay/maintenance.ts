// Maintenance keeps the table full: it stabilizes the neighbourhood with one neighbour a round (three
// after a loss), links to contacts that fill holes, and looks up ids in uncovered slots of far buckets
// (uncovered buckets first: routing needs a link in every non-empty bucket; backing off from slots
// found empty). It runs on a jittered period and right after a loss, and recovers from a split through
// the bootstrap.
import * as v from 'valibot';
import { every } from '../core/clock.ts';
import { shuffle } from '../core/rng.ts';
import type { Id } from '../core/id.ts';
import { randomIdInSlot, slotKey } from './bucket.ts';
import type { OverlayContext } from './context.ts';
import { ClosestReply, Empty, METHOD, NeedNotice } from './messages.ts';
import type { OverlaySignaling } from './overlay-signaling.ts';
import type { Router } from './route.ts';
import { findNeighbourhood } from './join.ts';
import type { Stabilizer } from './neighbourhood.ts';

const MAX_EMPTY_BACKOFF_MS = 5 * 60_000;
/** A full self-lookup (a cross-check from a random start) every this many idle rounds. */
const SELF_LOOKUP_EVERY = 8;

/** Runs fn over items with at most `limit` running at once. */
export async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class Maintenance {
  private stop: (() => void) | null = null;
  private running = false;
  private repairQueued = false;
  private emptySlots = new Map<number, { until: number; backoff: number }>();
  private rounds = 0;
  private repairPending = false;
  /** Set after a mass loss: peers we lost, to be reached again through the bootstrap. */
  private lostPeers: Id[] = [];
  /**
   * The table and contact versions at which no contact was wanted by the table: until either changes,
   * a scan finds none again. (Most rounds of a settled node: the scan asked the table about each of
   * up to 256 contacts, a tenth of an idle simulated overlay's CPU.)
   */
  private noneWantedAt = { table: -1, contacts: -1 };
  private recoverUntil = 0;

  constructor(
    private readonly ctx: OverlayContext,
    private readonly router: Router,
    private readonly signaling: OverlaySignaling,
    private readonly recover: (targets: Id[]) => Promise<boolean>,
    private readonly stabilizer: Stabilizer,
  ) {
    ctx.methods.registerNotify(METHOD.need, NeedNotice, (body, call) => {
      const peer = ctx.table.get(call.from);
      if (peer) peer.theyNeed = body.need;
    });
    ctx.methods.register(METHOD.neighbours, Empty, () => ({ ids: ctx.table.neighbours() }));
    ctx.methods.register(METHOD.peers, Empty, () => ({ ids: [...ctx.table.peers.values()].filter((p) => !p.suspected).map((p) => p.id) }));
  }

  start(): void {
    const { clock, config, rng } = this.ctx;
    this.stop ??= every(clock, config.maintenanceMs * (0.8 + 0.4 * rng.next()), () => void this.round());
  }

  halt(): void {
    this.stop?.();
    this.stop = null;
  }

  /** Soon after a loss, repair the neighbourhood and the hole (debounced). */
  scheduleRepair(): void {
    this.repairPending = true;
    if (this.repairQueued || !this.ctx.running) return;
    this.repairQueued = true;
    this.ctx.clock.setTimeout(() => {
      this.repairQueued = false;
      void this.round();
    }, 1_000 + this.ctx.rng.int(1_000));
  }

  /** Called when many links were lost at once (a partition or a mass crash). */
  noteMassLoss(lost: Id[]): void {
    this.lostPeers = [...new Set([...lost, ...this.lostPeers])].slice(0, 32);
    this.recoverUntil = this.ctx.clock.now() + 40 * this.ctx.config.maintenanceMs;
  }

  async round(): Promise<void> {
    if (this.running || !this.ctx.running) return;
    this.running = true;
    try {
      const repair = this.repairPending;
      this.repairPending = false;
      if (this.ctx.table.size === 0) await this.recover([]);
      if (this.lostPeers.length > 0 && this.ctx.clock.now() < this.recoverUntil) await this.tryRecover();
      await this.stabilizer.stabilize({ ask: repair ? 3 : 1, maxSteps: 3 });
      if (!repair && this.rounds++ % SELF_LOOKUP_EVERY === 0) await this.selfLookup();
      await this.fill(this.ctx.config.lookupsPerRound);
      this.trim();
    } finally {
      this.running = false;
    }
  }

  private async tryRecover(): Promise<void> {
    const target = this.lostPeers[this.ctx.rng.int(this.lostPeers.length)]!;
    if (this.ctx.table.has(target)) {
      this.lostPeers = [];
      return;
    }
    if (await this.recover([target])) this.lostPeers = [];
  }

  /**
   * Tells peers whether we need their link, and closes links that neither end needs while the table is
   * above its target size: inbound links would otherwise pile up to the hard bound.
   */
  trim(): void {
    const { table, config } = this.ctx;
    const spare: Id[] = [];
    for (const peer of table.peers.values()) {
      // A joiner has not told us yet whether it needs our link, which may be its only one.
      if (peer.suspected || peer.joining) continue;
      const need = !table.isRedundant(peer.id);
      if (need !== peer.toldNeed) {
        peer.toldNeed = need;
        peer.rpc.notify(METHOD.need, { need });
      }
      if (!need && !peer.theyNeed) spare.push(peer.id);
    }
    for (const id of spare.slice(0, Math.max(0, table.size - config.trimAboveLinks))) this.ctx.dropLink(id, 'evicted');
  }

  /**
   * Looks up our own id starting from a random peer: greedy routes from different starting points end
   * at different local minima while the overlay is still settling, so neighbours that two concurrent
   * joins missed are found this way (neighbour exchange alone only spreads within one cluster).
   */
  async selfLookup(): Promise<void> {
    const { table, rng } = this.ctx;
    const peers = [...table.peers.values()].filter((p) => !p.suspected);
    if (peers.length === 0) return;
    const start = peers[rng.int(peers.length)]!;
    try {
      await findNeighbourhood(this.ctx, this.router, start.id);
      await this.linkContacts((id) => table.fitsNeighbourhood(id));
    } catch {
      // The next round tries from another peer.
    }
  }

  /** Links to known contacts that `useful` accepts and the table wants, closest to self first. */
  async linkContacts(useful: (id: Id) => boolean, limit = 16, parallel = this.ctx.config.joinParallelism): Promise<void> {
    const { table, contacts } = this.ctx;
    const picked: Id[] = [];
    const slots = new Set<number>();
    const unchanged = this.noneWantedAt.table === table.version && this.noneWantedAt.contacts === contacts.version;
    let anyWanted = false;
    for (const id of unchanged ? [] : contacts.ids()) {
      if (picked.length >= limit) break;
      if (!table.wants(id)) continue;
      anyWanted = true;
      if (!useful(id) || this.deadCheck(id) || this.signaling.isConnecting(id) || this.signaling.inBackoff(id, this.ctx.contacts.introducerOf(id))) continue;
      const p = table.placement(id);
      const key = slotKey(p.bucket, p.slot);
      // One candidate per slot at a time, except for neighbours.
      if (slots.has(key) && !table.fitsNeighbourhood(id)) continue;
      slots.add(key);
      picked.push(id);
    }
    if (!anyWanted) this.noneWantedAt = { table: table.version, contacts: contacts.version };
    await inBatches(picked, parallel, async (id) => {
      if (table.wants(id)) await this.signaling.connect(id, contacts.introducerOf(id));
    });
  }

  /** Forgets which slots were found empty (after a merge the far side may fill them). */
  forgetEmptySlots(): void {
    this.emptySlots.clear();
  }

  /** Set by the façade: ids recently confirmed dead are not linked again from stale contacts. */
  deadCheck: (id: Id) => boolean = () => false;

  /** Fills uncovered slots: first from contacts, then by up to `maxLookups` lookups. */
  async fill(maxLookups: number): Promise<void> {
    const { table, config, clock, rng, self, contacts } = this.ctx;
    await this.linkContacts(() => true);
    const nbrs = table.neighbours();
    if (nbrs.length === 0) return;
    // Buckets at or past the farthest neighbour's are covered by the neighbourhood itself.
    const deepest = table.placement(nbrs[nbrs.length - 1]!).bucket;
    const holes: Array<{ bucket: number; slot: number; bits: number }> = [];
    const now = clock.now();
    for (let bucket = 0; bucket < deepest; bucket++) {
      const bits = config.slotBits(bucket);
      for (let slot = 0; slot < 1 << bits; slot++) {
        if (table.slotCovered(bucket, slot)) continue;
        const empty = this.emptySlots.get(slotKey(bucket, slot));
        if (empty && empty.until > now) continue;
        holes.push({ bucket, slot, bits });
      }
    }
    // A bucket without any link breaks routing into it; a missing slot only costs hops.
    const bare = holes.filter((h) => !table.bucketCovered(h.bucket));
    const rest = shuffle(rng, holes.filter((h) => table.bucketCovered(h.bucket)));
    const chosen = [...bare.slice(0, 2 * maxLookups), ...rest].slice(0, Math.max(maxLookups, Math.min(bare.length, 2 * maxLookups)));
    await inBatches(chosen, config.joinParallelism, async ({ bucket, slot, bits }) => {
      const target = randomIdInSlot(self, bucket, slot, bits, (n) => rng.bytes(n));
      let found: Id | undefined;
      try {
        const result = await this.router.route(target, METHOD.closest, { n: 4 });
        const parsed = v.safeParse(ClosestReply, result.reply);
        if (parsed.success) {
          contacts.addAll(parsed.output.closest, result.responder);
          found = parsed.output.closest.find((id) => {
            const p = table.placement(id);
            return p.bucket === bucket && p.slot === slot;
          });
        }
      } catch {
        return;
      }
      const key = slotKey(bucket, slot);
      if (!found) {
        const backoff = Math.min(MAX_EMPTY_BACKOFF_MS, (this.emptySlots.get(key)?.backoff ?? config.maintenanceMs) * 2);
        this.emptySlots.set(key, { until: clock.now() + backoff, backoff });
        return;
      }
      this.emptySlots.delete(key);
      await this.signaling.connect(found, contacts.introducerOf(found));
    });
  }
}
