// Adapts the overlay to the port the storage layer requires (src/storage/overlay-port.ts).
import { Emitter } from '../core/emitter.ts';
import type { Id } from '../core/id.ts';
import type { Overlay } from '../overlay/overlay.ts';
import type { OverlayPort, OverlayPortEvents } from '../storage/overlay-port.ts';
import type { RoutedCalls } from './routed-call.ts';

export function overlayPort(overlay: Overlay, calls: RoutedCalls): OverlayPort {
  const events = new Emitter<OverlayPortEvents>();
  overlay.events.on('neighbourhood', ({ added, removed }) => events.emit('neighborhood', { added, removed }));
  overlay.events.on('dead', ({ id }) => events.emit('dead', { id }));
  overlay.events.on('suspected', ({ id }) => events.emit('suspected', { id }));
  // A peer that left on purpose is gone as surely as a dead one: its replicas must be made again.
  overlay.events.on('leave', ({ id }) => id !== overlay.id && events.emit('dead', { id }));
  return {
    selfId: overlay.id,
    methods: overlay.methods,
    findClosest: (key: Id, n: number) => overlay.findClosest(key, n),
    call: (node, method, body, options) => calls.call(node, method, body, options),
    neighbors: () => overlay.neighbors(),
    // A suspected link is left out: storage then re-replicates its keys at once rather than after the
    // second opinion (a wrong suspicion costs a few records copied to one more node, dropped again later).
    contacts: () => overlay.links().filter((l) => !l.suspected).map((l) => l.id),
    joined: () => overlay.joined,
    on: (type, listener) => events.on(type, listener),
  };
}
