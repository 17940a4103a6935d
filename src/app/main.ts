// Vite entry. The app: the Shell routes between the start page, a room (this tab becomes a node) and a
// simulated room. `?lab` opens the link lab instead: the transport alone (signaling client, signed
// WebRTC links, RPC) without the overlay, for the link tests and the link benchmark.
import { mount } from 'svelte';
import { createBrowserNode, type BrowserNodeApi } from './browser-node.ts';
import { signalUrlFor, boot } from './boot.ts';
import LinkLab from './LinkLab.svelte';
import Shell from './ui/Shell.svelte';

const target = document.getElementById('app')!;

if (new URLSearchParams(location.search).has('lab')) {
  mount(LinkLab, { target, props: { node: boot() } });
} else {
  const createNode = async (room: string): Promise<BrowserNodeApi> => {
    const api = await createBrowserNode(room, signalUrlFor(location));
    // For the devtools console and the end-to-end tests.
    (globalThis as unknown as { selfmesh: BrowserNodeApi }).selfmesh = api;
    return api;
  };
  mount(Shell, { target, props: { createNode } });
}
