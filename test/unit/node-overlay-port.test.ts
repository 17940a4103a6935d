import { describe, expect, it } from 'vitest';
import { overlayPort } from '../../src/node/overlay-port.ts';
import type { Overlay } from '../../src/overlay/overlay.ts';
import type { RoutedCalls } from '../../src/node/routed-call.ts';

/** An overlay with three links; a test sets what their failure detector thinks of them. */
function overlayWith(links: Array<{ id: string; suspected: boolean; missedPings: number }>) {
  const fake = {
    id: 'self',
    joined: true,
    methods: undefined,
    events: { on: () => () => undefined },
    neighbors: () => links.map((l) => l.id),
    links: () => links.map((l) => ({ id: l.id, suspected: l.suspected, via: 'overlay', bucket: 0, linkedAt: 0 })),
    inDoubt: (id: string) => links.some((l) => l.id === id && (l.suspected || l.missedPings > 0)),
  };
  return overlayPort(fake as unknown as Overlay, {} as RoutedCalls);
}

describe('the overlay as storage sees it', () => {
  it('leaves out links in doubt: suspected, or a ping went unanswered', () => {
    const links = [
      { id: 'a', suspected: false, missedPings: 0 },
      { id: 'b', suspected: false, missedPings: 1 },
      { id: 'c', suspected: true, missedPings: 2 },
    ];
    const port = overlayWith(links);
    expect(port.neighbors()).toEqual(['a']);
    expect(port.contacts!()).toEqual(['a']);
    // It answered again: it counts again.
    links[1]!.missedPings = 0;
    expect(port.neighbors()).toEqual(['a', 'b']);
    expect(port.contacts!()).toEqual(['a', 'b']);
    expect(port.joined!()).toBe(true);
  });
});
