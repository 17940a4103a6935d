// The room as an interface for components: `ctx.use('room').broadcast(payload)` sends to the same
// component on every node of the room; the host hands what arrives to that component's `receive`.
// Delivery goes through the membrane, so messages that arrive during a swap are held, not lost.
import type { Id } from '../core/id.ts';
import { hostTarget, type BindingTarget } from './binding.ts';
import type { ComponentRuntime } from './runtime.ts';

/** The port the lead adapts to the overlay (e.g. a flood or gossip to the room's members). */
export interface RoomBroadcastPort {
  broadcast(component: string, payload: unknown): Promise<void>;
}

/** The binding target for a component's required 'room' interface. */
export function roomTarget(component: string, port: RoomBroadcastPort, self: Id): BindingTarget {
  return hostTarget('room', {
    broadcast: (payload: unknown) => port.broadcast(component, payload),
    self: () => self,
  });
}

/** What the host calls when a room message for `component` arrives from node `from`. */
export function deliverRoomMessage(
  runtime: ComponentRuntime,
  component: string,
  payload: unknown,
  from: Id,
): Promise<unknown> {
  return runtime.call(component, 'receive', [payload, from], `node:${from}`);
}
