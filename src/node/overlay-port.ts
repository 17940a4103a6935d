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
    // A link in doubt is left out: suspected, or a ping to it went unanswered. Storage then re-replicates
    // its keys at once, about ten seconds after a silent crash, rather than after the suspicion and the
    // second opinion the overlay waits for (which must spare a tab frozen for a while). A wrong doubt
    // costs records copied to one more node, kept or dropped again once the peer answers.
    neighbors: () => overlay.neighbors().filter((id) => !overlay.inDoubt(id)),
    contacts: () => overlay.links().filter((l) => !overlay.inDoubt(l.id)).map((l) => l.id),
    joined: () => overlay.joined,
    watch: (ids) => overlay.watch(ids),
    on: (type, listener) => events.on(type, listener),
  };
}
