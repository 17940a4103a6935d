// Vite entry. The app: the Shell routes between the start page, a room (this tab becomes a node) and a
// simulated room. `?lab` opens the link lab instead: the transport alone (signaling client, signed
// WebRTC links, RPC) without the overlay, for the link tests and the link benchmark. `?headless` runs
// the node of `#/r/<room>` with no views at all, as an app embedding selfmesh would (the browser
// benchmark measures that, next to a y-webrtc page that has no views either).
// Each mode loads only its own code: a headless node does not parse the views, and the start page
// does not parse the link lab.
import { roomFromHash, signalUrlFor } from './room-url.ts';
import type { BrowserNodeApi } from './browser-node.ts';

const target = document.getElementById('app')!;
const mode = new URLSearchParams(location.search);

if (mode.has('lab')) {
  const [{ mount }, { default: LinkLab }, { boot }] = await Promise.all([
    import('svelte'), import('./LinkLab.svelte'), import('./boot.ts'),
  ]);
  mount(LinkLab, { target, props: { node: boot() } });
} else if (mode.has('headless')) {
  const { createBrowserNode } = await import('./browser-node.ts');
  const { room } = roomFromHash(location.hash);
  const api = await createBrowserNode(room, signalUrlFor(location));
  (globalThis as unknown as { selfmesh: BrowserNodeApi }).selfmesh = api;
  // In the title, not the page: text would make the tab lay out, load a font and paint tiles (about
  // 1 MB a tab in the browser benchmark) for a line nobody reads in a headless node.
  document.title = `selfmesh node ${api.id.slice(0, 8)} in room ${room}`;
} else {
  const [{ mount }, { default: Shell }, { createBrowserNode }] = await Promise.all([
    import('svelte'), import('./ui/Shell.svelte'), import('./browser-node.ts'),
  ]);
  const createNode = async (room: string): Promise<BrowserNodeApi> => {
    const api = await createBrowserNode(room, signalUrlFor(location));
    // For the devtools console and the end-to-end tests.
    (globalThis as unknown as { selfmesh: BrowserNodeApi }).selfmesh = api;
    return api;
  };
  mount(Shell, { target, props: { createNode } });
}
