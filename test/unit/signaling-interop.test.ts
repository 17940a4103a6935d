// Interoperability: unchanged y-webrtc clients sync a Y.Text over real WebRTC, signaled by our server.
//
// Why one client runs in a child process: y-webrtc keeps module-level state (one Room per room name
// per process, one shared signaling socket per URL), so two providers of the same room cannot live
// in one module instance. And lib0's BroadcastChannel helper delivers in-process to every
// subscriber of the room, which would sync the docs without WebRTC. A second process has neither
// problem, just like a second browser tab on another machine.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebrtcProvider } from 'y-webrtc';
import * as Y from 'yjs';
import { startSignalingServer, type SignalingServer } from '../../signaling/server.ts';
import { waitFor } from './signaling-helpers.ts';

const require = createRequire(import.meta.url);
const wrtc: unknown = require('@roamhq/wrtc');

// The other client: a y-webrtc provider that reports its state as JSON lines and obeys commands.
const CHILD = `
import WebSocket from 'ws';
import { createRequire } from 'node:module';
import readline from 'node:readline';
import * as Y from 'yjs';
import { WebrtcProvider } from 'y-webrtc';
globalThis.WebSocket = WebSocket;
const wrtc = createRequire(process.cwd() + '/')('@roamhq/wrtc');
const doc = new Y.Doc();
const text = doc.getText('t');
const provider = new WebrtcProvider(process.env.ROOM, doc, {
  signaling: [process.env.SIGNALING_URL],
  filterBcConns: false,
  peerOpts: { wrtc, config: { iceServers: [] } },
});
const report = () => {
  const conns = provider.room ? [...provider.room.webrtcConns.values()] : [];
  console.log(JSON.stringify({ text: text.toString(), webrtcConns: conns.length, connected: conns.filter((c) => c.connected).length }));
};
doc.on('update', report);
provider.on('peers', report);
report();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.insert) text.insert(text.length, cmd.insert);
  if (cmd.report) report();
  if (cmd.quit) {
    provider.disconnect();
    provider.destroy();
    doc.destroy();
    // A Node wrtc peer keeps the process alive for a few seconds after close: exit explicitly.
    setImmediate(() => process.exit(0));
  }
});
`;

interface ChildState {
  text: string;
  webrtcConns: number;
  connected: number;
}

describe('y-webrtc interoperability', () => {
  let server: SignalingServer;
  let child: ChildProcessWithoutNullStreams | null = null;
  let childState: ChildState = { text: '', webrtcConns: 0, connected: 0 };
  let childExit: Promise<number | null>;
  let provider: WebrtcProvider | null = null;
  let doc: Y.Doc | null = null;
  const hadWebSocket = 'WebSocket' in globalThis;
  const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;

  beforeAll(async () => {
    server = await startSignalingServer({ port: 0 });
    // lib0's websocket client uses the global WebSocket, which Node 20 lacks.
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  });

  afterAll(async () => {
    // destroy() alone leaves y-webrtc's signaling socket reconnecting forever; disconnect() ends it.
    provider?.disconnect();
    const room = provider?.room;
    if (room) await waitFor(() => room.webrtcConns.size === 0, 'the wrtc peer closed');
    provider?.destroy();
    doc?.destroy();
    if (child && child.exitCode === null) {
      child.stdin.write(JSON.stringify({ quit: true }) + '\n');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
      await childExit;
      clearTimeout(timer);
    }
    if (hadWebSocket) (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
    else delete (globalThis as { WebSocket?: unknown }).WebSocket;
    await server.close();
  });

  it('syncs a Y.Text between two y-webrtc providers over WebRTC', async () => {
    const room = `interop-${process.pid}-${Date.now()}`;
    child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: process.cwd(),
      env: { ...process.env, ROOM: room, SIGNALING_URL: server.url },
    });
    const stderr: string[] = [];
    child.stderr.on('data', (d: Buffer) => stderr.push(String(d)));
    childExit = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('{')) childState = JSON.parse(line) as ChildState;
    });

    doc = new Y.Doc();
    const text = doc.getText('t');
    text.insert(0, 'hello from the test process;');
    provider = new WebrtcProvider(room, doc, {
      signaling: [server.url],
      filterBcConns: false,
      peerOpts: { wrtc, config: { iceServers: [] } },
    });

    // Both signaling sockets reach our server and join the room (topic).
    await waitFor(() => server.stats().connections === 2 && server.stats().topics === 1, 'two clients in the room', 15_000);
    child.stdin.write(JSON.stringify({ insert: 'hello from the child;' }) + '\n');

    const p = provider;
    await waitFor(
      () => {
        const conns = [...(p.room?.webrtcConns.values() ?? [])];
        return conns.length === 1 && conns[0]!.connected && childState.connected === 1;
      },
      `a WebRTC link on both sides (child stderr: ${stderr.join('')})`,
      15_000,
    );
    await waitFor(
      () => text.toString().length > 0 && text.toString() === childState.text && text.toString().includes('child'),
      'both docs converge',
      15_000,
    );
    expect(text.toString()).toContain('hello from the test process;');
    expect(text.toString()).toContain('hello from the child;');
    expect(childState.webrtcConns).toBe(1);

    // An edit after the link is up also travels (over the data channel: the processes share nothing else).
    text.insert(text.length, 'more;');
    await waitFor(() => childState.text.endsWith('more;') || childState.text.includes('more;'), 'edit arrives', 10_000);

    // Signaling went through us: subscribes, announces and WebRTC offer/answer/candidates.
    const st = server.stats();
    expect(st.framesInByType.subscribe).toBeGreaterThanOrEqual(2);
    expect(st.framesInByType.publish).toBeGreaterThanOrEqual(4);
    expect(st.framesOutByType.publish).toBeGreaterThan(st.framesInByType.publish);
    expect(st.errors).toBe(0);
  });
});
