// Trading: nodes advertise the components they run under each provided interface (with version and
// load) through a port over the DHT; clients find providers by interface and version range.
import * as v from 'valibot';
import type { Clock } from '../core/clock.ts';
import type { Id } from '../core/id.ts';
import { isId } from '../core/id.ts';
import { compareVersions, isVersion, satisfies } from './semver.ts';

export interface Offer {
  node: Id;
  component: string;
  iface: string;
  version: string;
  /** The provider's load, 0 = idle; its meaning is the provider's (calls in flight, sessions). */
  load: number;
  /** When the offer was made, on the advertiser's clock; old offers are dropped. */
  at: number;
}

/**
 * What trading needs from the DHT (the lead adapts storage to it): `put` replaces this node's offer
 * under the interface; `list` returns every offer stored under it (unchecked, as it came from peers).
 */
export interface TradingPort {
  put(iface: string, offer: Offer): Promise<void>;
  list(iface: string): Promise<unknown[]>;
}

const offerSchema = v.object({
  node: v.pipe(
    v.string(),
    v.check((s: string) => isId(s), 'not an id'),
  ),
  component: v.pipe(v.string(), v.maxLength(64)),
  iface: v.pipe(v.string(), v.maxLength(64)),
  version: v.pipe(
    v.string(),
    v.check((s: string) => isVersion(s), 'not semver'),
  ),
  load: v.pipe(v.number(), v.minValue(0)),
  at: v.number(),
});

export type ProviderPolicy = 'least-loaded' | 'newest' | ((offers: Offer[]) => Offer | undefined);

export interface TraderOptions {
  clock: Clock;
  node: Id;
  /** Offers older than this are ignored (a node that died stops refreshing its offers). */
  ttlMs?: number;
}

export class Trader {
  private readonly ttlMs: number;

  constructor(
    private readonly port: TradingPort,
    private readonly options: TraderOptions,
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
  }

  advertise(iface: string, component: string, version: string, load: number): Promise<void> {
    return this.port.put(iface, {
      node: this.options.node,
      component,
      iface,
      version,
      load,
      at: this.options.clock.now(),
    });
  }

  /** Live, well-formed offers for `iface` whose version is in `range`: least loaded first, then newest. */
  async findProviders(iface: string, range = '*'): Promise<Offer[]> {
    const now = this.options.clock.now();
    const latest = new Map<string, Offer>();
    for (const raw of await this.port.list(iface)) {
      const r = v.safeParse(offerSchema, raw);
      if (!r.success) continue; // malformed offers from peers are skipped, never trusted
      const o = r.output;
      if (o.iface !== iface || now - o.at > this.ttlMs || !satisfies(o.version, range)) continue;
      const key = `${o.node}/${o.component}`;
      const prev = latest.get(key);
      if (!prev || prev.at < o.at) latest.set(key, o);
    }
    return [...latest.values()].sort(
      (a, b) => a.load - b.load || compareVersions(b.version, a.version) || a.node.localeCompare(b.node),
    );
  }

  async pick(
    iface: string,
    range = '*',
    policy: ProviderPolicy = 'least-loaded',
  ): Promise<Offer | undefined> {
    const offers = await this.findProviders(iface, range);
    if (typeof policy === 'function') return policy(offers);
    if (policy === 'newest') return [...offers].sort((a, b) => compareVersions(b.version, a.version))[0];
    return offers[0];
  }
}

/** A TradingPort in memory, shared by the nodes of a test. */
export class MemoryTradingPort implements TradingPort {
  readonly offers = new Map<string, Map<string, unknown>>();

  async put(iface: string, offer: Offer): Promise<void> {
    let m = this.offers.get(iface);
    if (!m) this.offers.set(iface, (m = new Map()));
    m.set(`${offer.node}/${offer.component}`, structuredClone(offer));
  }

  async list(iface: string): Promise<unknown[]> {
    return [...(this.offers.get(iface)?.values() ?? [])].map((o) => structuredClone(o));
  }
}
