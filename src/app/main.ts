// Vite entry. The app: the Shell routes between the start page, a room (this tab becomes a node) and a
// simulated room. `?lab` opens the link lab instead: the transport alone (signaling client, signed
// WebRTC links, RPC) without the overlay, for the link tests and the link benchmark. `?headless` runs
// the node of `#/r/<room>` with no views at all, as an app embedding selfmesh would (the browser
// benchmark measures that, next to a y-webrtc page that has no views either).
import { mount } from 'svelte';
import { createBrowserNode, type BrowserNodeApi } from './browser-node.ts';
import { boot, roomFromHash, signalUrlFor } from './boot.ts';
import LinkLab from './LinkLab.svelte';
import Shell from './ui/Shell.svelte';

const target = document.getElementById('app')!;

if (new URLSearchParams(location.search).has('lab')) {
  mount(LinkLab, { target, props: { node: boot() } });
} else if (new URLSearchParams(location.search).has('headless')) {
  const { room } = roomFromHash(location.hash);
  void createBrowserNode(room, signalUrlFor(location)).then((api) => {
    (globalThis as unknown as { selfmesh: BrowserNodeApi }).selfmesh = api;
    target.textContent = `selfmesh node ${api.id.slice(0, 8)} in room ${room}`;
  });
} else {
  const createNode = async (room: string): Promise<BrowserNodeApi> => {
    const api = await createBrowserNode(room, signalUrlFor(location));
    // For the devtools console and the end-to-end tests.
    (globalThis as unknown as { selfmesh: BrowserNodeApi }).selfmesh = api;
    return api;
  };
  mount(Shell, { target, props: { createNode } });
}
