// Design preview: the whole Shell with every room backed by the in-page fake room, so the UI can be
// worked on without a signaling server or other tabs. Served by the Vite dev server as /ui-preview.html.
// `?slow` reveals the join steps one by one; `?fail=server-unreachable|webrtc-unavailable|other` fails.
import { mount } from 'svelte';
import type { JoinStep, NodeApi } from '../node-api.ts';
import { createSimRoom } from '../sim-room.ts';
import Shell from './Shell.svelte';

const params = new URLSearchParams(location.search);
const STEPS: JoinStep[] = ['signaling', 'first-link', 'joined', 'table-filled'];

async function createNode(room: string): Promise<NodeApi> {
  const fail = params.get('fail');
  if (fail) {
    await new Promise((resolve) => setTimeout(resolve, 600));
    throw Object.assign(new Error(`preview: ${fail}`), { kind: fail });
  }
  const node = await createSimRoom(24, { churn: true });
  if (!params.has('slow')) return { ...node, room };
  const start = Date.now();
  return {
    ...node,
    room,
    progress: () => {
      const done = STEPS.slice(0, Math.min(4, Math.floor((Date.now() - start) / 1500)));
      const times = Object.fromEntries(done.map((s, i) => [s, start + (i + 1) * 1500]));
      return { step: done.length === 4 ? 'table-filled' : (STEPS[done.length] ?? 'signaling'), done, times };
    },
  };
}

const target = document.getElementById('app');
if (target) mount(Shell, { target, props: { createNode } });
