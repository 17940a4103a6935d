// Recovery from a split: losing many links at once (a partition, a mass crash) is noticed here, and a
// peer lost that way is reached again through the bootstrap, which also finds this node's
// neighbourhood anew. Without it, two halves of a partition that heals would never link again.
import type { Id } from '../core/id.ts';
import type { Link } from '../transport/link.ts';
import type { OverlayContext } from './context.ts';
import { findNeighbourhood } from './join.ts';
import type { Maintenance } from './maintenance.ts';
import type { Stabilizer } from './neighbourhood.ts';
import type { OverlaySignaling } from './overlay-signaling.ts';
import type { Bootstrap } from './overlay.ts';
import type { Router } from './route.ts';

export class Recovery {
  private recentLosses: Array<{ id: Id; at: number }> = [];
  /** Set once maintenance exists (it is built with this recovery's `recover`). */
  maintenance: Maintenance | null = null;

  constructor(
    private readonly ctx: OverlayContext,
    private readonly router: Router,
    private readonly signaling: OverlaySignaling,
    private readonly stabilizer: Stabilizer,
    private readonly bootstrap: Bootstrap | undefined,
  ) {}

  /** A link was lost (not closed on purpose): counts toward a mass loss. */
  noteLoss(id: Id): void {
    const { clock, config, counters, table } = this.ctx;
    const now = clock.now();
    const window = 2 * config.suspectSilenceMs + config.maintenanceMs;
    this.recentLosses = this.recentLosses.filter((l) => now - l.at < window);
    this.recentLosses.push({ id, at: now });
    const lost = this.recentLosses.length;
    if (lost >= 3 && lost >= config.massLossShare * (lost + table.size)) {
      counters.inc('overlay.massLoss');
      this.maintenance?.noteMassLoss(this.recentLosses.map((l) => l.id));
      this.recentLosses = [];
    }
  }

  /** After a split: reach a lost peer through the bootstrap, and find our neighbourhood through it. */
  async recover(targets: Id[]): Promise<boolean> {
    const { ctx } = this;
    if (!this.bootstrap || !ctx.joined) return false;
    ctx.counters.inc('overlay.recover.attempts');
    const links = await this.bootstrap(targets.length > 0 ? { count: 1, targets } : { count: ctx.config.bootstrapLinks }).catch(() => [] as Link[]);
    const link = links.find((l) => ctx.addLink(l));
    if (!link) return false;
    try {
      this.maintenance?.forgetEmptySlots();
      const closest = await findNeighbourhood(ctx, this.router, link.remoteId);
      const fits = closest.filter((id) => ctx.table.fitsNeighbourhood(id)).slice(0, ctx.config.neighbourhoodSize);
      await Promise.all(fits.map((id) => this.signaling.connect(id, ctx.contacts.introducerOf(id))));
      await this.stabilizer.stabilize({ ask: ctx.config.neighbourhoodSize, maxSteps: 4 });
      ctx.counters.inc('overlay.recover.succeeded');
      return true;
    } catch {
      return false;
    }
  }
}
