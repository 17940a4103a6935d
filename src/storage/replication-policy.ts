// How many replicas a key gets, tuned by a feedback loop on the churn this node observes (Van Roy et al.:
// self-management by feedback loops). Every departure of a linked node (a death or a leave) is a sample;
// the departures per link-second give the rate λ at which any one node leaves (1/λ is the mean session).
// A key is lost when, after one holder goes, the other r - 1 go too before repair has made new copies
// (about the failure-detection time of a silent crash, `repairWindowMs`). Per holder departure that is
// (1 - e^(-λT))^(r-1), and a key sees r·λ holder departures per unit time; r is the smallest number at
// which the expected losses per key per day stay below `lossPerKeyDay`, never below the configured r.
// r rises at once when churn rises and falls only after the lower value held for `holdMs`, so that a
// lull does not drop replicas that the next burst needs. Nodes tell their r to the peers they exchange
// records with, and a node uses the largest r it heard from a peer lately: neighbours that estimate a
// little differently then still agree on who holds a key.
import type { Clock } from '../core/clock.ts';

export interface PolicyOptions {
  /** The floor: r of the room's configuration (also the quorum set, see quorum.ts). */
  rMin: number;
  /** The ceiling (0 turns the policy off: r stays rMin). */
  rMax: number;
  /** Expected losses per key per day that the chosen r must stay below. */
  lossPerKeyDay: number;
  /** Time from a holder's departure until its copies are made again (a silent crash's detection). */
  repairWindowMs: number;
  /** Departures are counted in slots of this length; the estimate spans `slots` of them. */
  slotMs: number;
  slots: number;
  /** The short window (in slots) that lets a burst raise r before the long window has seen it. */
  shortSlots: number;
  /** A lower r is taken only after it was the target this long. */
  holdMs: number;
  /** How long an r heard from a peer counts. */
  heardMs: number;
  /** Link-time that counts as observed before any was (so that one early departure is not a burst). */
  priorLinkMs: number;
  /** Fewer departures than this in a window say nothing about churn (the rate counts as 0). */
  minDepartures: number;
}

export const DEFAULT_POLICY: Omit<PolicyOptions, 'rMin'> = {
  rMax: 8,
  lossPerKeyDay: 1e-3,
  repairWindowMs: 6_000,
  slotMs: 30_000,
  slots: 20,
  shortSlots: 4,
  holdMs: 10 * 60_000,
  heardMs: 10 * 60_000,
  priorLinkMs: 20 * 60_000,
  minDepartures: 3,
};

interface Slot {
  start: number;
  departures: number;
  /** Link-milliseconds observed in this slot. */
  exposure: number;
}

export class ReplicationPolicy {
  private readonly slots: Slot[] = [];
  private lastSample: number;
  private own: number;
  private lowerSince: number | null = null;
  private readonly heard = new Map<string, { r: number; until: number }>();
  /** heardR()'s last answer, good until the earliest heard entry expires (or a new one comes). */
  private heardMax = 0;
  private heardValidUntil = -Infinity;

  constructor(
    private readonly opts: PolicyOptions,
    private readonly clock: Clock,
    /** How many nodes this node is linked to now (the population it watches). */
    private readonly links: () => number,
  ) {
    this.own = opts.rMin;
    this.lastSample = clock.now();
  }

  /** The r to use now: this node's own target, or more if a peer said so lately. */
  get r(): number {
    if (this.opts.rMax <= this.opts.rMin) return this.opts.rMin;
    return Math.max(this.own, this.heardR());
  }

  /**
   * The largest r heard and not yet expired. Placement asks for r for every key it places, so the scan
   * runs only when something was heard or the earliest entry expired.
   */
  private heardR(): number {
    const now = this.clock.now();
    if (now < this.heardValidUntil) return this.heardMax;
    let max = 0;
    let validUntil = Infinity;
    for (const [id, h] of this.heard) {
      if (h.until <= now) this.heard.delete(id);
      else {
        if (h.r > max) max = h.r;
        if (h.until < validUntil) validUntil = h.until;
      }
    }
    this.heardMax = max;
    this.heardValidUntil = validUntil;
    return max;
  }

  /**
   * Whether former holders keep their copies (up to the slack ranks) instead of dropping them: under
   * churn a displaced holder is soon a holder again (the joiner that displaced it leaves, or r rises),
   * and a copy kept is one more that a burst of silent crashes must take, at no cost in bytes
   * (Carbonite). On as soon as any linked node departed within the long window, not only once r rose:
   * the raise takes a minute of departures to be sure of, and copies dropped in that minute by holders
   * that joiners displaced were sent back to them once it came. Only a room where nobody left for the
   * whole window drops them (a room that only grows), and a room whose r is fixed.
   */
  get keepsExtras(): boolean {
    // With the policy off (a fixed r), every key sits on exactly its r holders.
    if (this.opts.rMax <= this.opts.rMin) return false;
    if (this.r > this.opts.rMin) return true;
    const since = this.clock.now() - this.opts.slots * this.opts.slotMs;
    return this.slots.some((s) => s.departures > 0 && s.start + this.opts.slotMs > since);
  }

  /** This node's own target (what it tells its peers; not raised by what it heard). */
  get ownR(): number {
    return this.own;
  }

  /** A linked node departed (died or left). */
  departed(): void {
    this.sample();
    this.current().departures++;
    this.update();
  }

  /** A peer told its own r. */
  hear(from: string, r: number): void {
    if (!Number.isInteger(r) || r < this.opts.rMin) return;
    this.heard.set(from, { r: Math.min(r, this.opts.rMax), until: this.clock.now() + this.opts.heardMs });
    this.heardValidUntil = -Infinity;
  }

  /** Accounts the link-time since the last call and re-evaluates r (call it now and then). */
  tick(): void {
    this.sample();
    this.update();
  }

  /** Departures per node per ms over the long and the short window, whichever is higher. */
  rate(): number {
    this.sample();
    const { slots, shortSlots, priorLinkMs } = this.opts;
    const over = (n: number) => {
      let d = 0;
      let e = 0;
      for (const s of this.slots.slice(-n)) {
        d += s.departures;
        e += s.exposure;
      }
      return d < this.opts.minDepartures ? 0 : d / Math.max(e, priorLinkMs);
    };
    return Math.max(over(slots), over(shortSlots));
  }

  /** The smallest r whose expected losses per key per day stay below the bound at departure rate λ. */
  target(lambda: number): number {
    const { rMin, rMax, lossPerKeyDay, repairWindowMs } = this.opts;
    const p = 1 - Math.exp(-lambda * repairWindowMs);
    for (let r = rMin; r < rMax; r++) {
      if (r * lambda * 86_400_000 * p ** (r - 1) <= lossPerKeyDay) return r;
    }
    return rMax;
  }

  private update(): void {
    if (this.opts.rMax <= this.opts.rMin) return;
    const t = this.target(this.rate());
    const now = this.clock.now();
    if (t >= this.own) {
      this.own = t;
      this.lowerSince = null;
    } else if (this.lowerSince === null) {
      this.lowerSince = now;
    } else if (now - this.lowerSince >= this.opts.holdMs) {
      // One step at a time: each step down waits out the hold again.
      this.own--;
      this.lowerSince = this.own > t ? now : null;
    }
  }

  private sample(): void {
    const now = this.clock.now();
    const links = this.links();
    let t = this.lastSample;
    while (t < now) {
      const slot = this.current(t);
      const end = Math.min(now, slot.start + this.opts.slotMs);
      slot.exposure += links * (end - t);
      t = end;
    }
    this.lastSample = now;
  }

  private current(at = this.clock.now()): Slot {
    const start = at - (at % this.opts.slotMs);
    let last = this.slots[this.slots.length - 1];
    if (!last || last.start < start) {
      this.slots.push((last = { start, departures: 0, exposure: 0 }));
      if (this.slots.length > this.opts.slots) this.slots.shift();
    }
    return last;
  }
}
