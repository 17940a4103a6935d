// One tab of a y-webrtc room for the side-by-side browser benchmark: a Y.Doc synced through the same
// signaling server, WebRTC forced between tabs of one browser (filterBcConns: false), no STUN.
import * as Y from 'yjs';
import { WebrtcProvider } from 'y-webrtc';

const params = new URLSearchParams(location.search);
const room = params.get('room') ?? 'bench';
const signaling = params.get('signal') ?? `ws://${location.host}`;
const doc = new Y.Doc();
const provider = new WebrtcProvider(room, doc, {
  signaling: [signaling],
  filterBcConns: false,
  peerOpts: { config: { iceServers: [] } },
});
const text = doc.getText('bench');
const seen = new Map<string, number>();
text.observe(() => {
  // Each broadcast appends a line `id`; record when this tab first saw it.
  for (const line of text.toString().split('\n')) if (line && !seen.has(line)) seen.set(line, performance.timeOrigin + performance.now());
});

interface Conn {
  connected: boolean;
}
function conns(): Conn[] {
  const r = (provider as unknown as { room: { webrtcConns: Map<string, Conn> } | null }).room;
  return r ? [...r.webrtcConns.values()] : [];
}

Object.assign(window, {
  bench: {
    startedAt: performance.timeOrigin,
    maxConns: (provider as unknown as { maxConns: number }).maxConns,
    connectedPeers: () => conns().filter((c) => c.connected).length,
    broadcast: (id: string) => {
      text.insert(text.length, `${id}\n`);
      return performance.timeOrigin + performance.now();
    },
    seenAt: (id: string) => seen.get(id) ?? null,
    destroy: () => provider.destroy(),
  },
});
