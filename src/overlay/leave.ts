// Leave on purpose: first let the layers above hand over their duties (records) while the links are
// still up, then tell every peer (with our neighbours, so they can close the gap at once), then close.
import type { Id } from '../core/id.ts';
import { sleep, within } from '../core/clock.ts';
import type { OverlayContext } from './context.ts';
import { METHOD } from './messages.ts';

export type BeforeLeave = () => Promise<void> | void;

export async function leave(ctx: OverlayContext, hooks: BeforeLeave[], handoverMs: number): Promise<void> {
  const { clock, table, counters } = ctx;
  if (await within(clock, handoverMs, Promise.allSettled(hooks.map(async (hook) => hook())))) {
    counters.inc('overlay.leave.handoverTimedOut');
  }
  const neighbours = table.neighbours();
  const peers: Id[] = [...table.peers.keys()];
  for (const id of peers) {
    const peer = table.get(id);
    peer?.rpc.notify(METHOD.leave, { neighbours: neighbours.filter((n) => n !== id) });
  }
  // The data channel delivers what was sent before a close; one tick lets the notices go out.
  await sleep(clock, 0);
  for (const id of peers) ctx.dropLink(id, 'leave');
}
