// A node running in the test process (Node, @roamhq/wrtc): the same bootstrap node as a tab, so a
// test can link Node and Chromium through the real signaling server.
import SimplePeer from 'simple-peer';
import wrtc from '@roamhq/wrtc';
import WebSocket from 'ws';
import { buildBootstrapNode, type BootstrapNode } from '../../src/app/bootstrap-node.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createIdentity, ed25519Scheme } from '../../src/core/identity.ts';
import { cryptoRng } from '../../src/core/rng.ts';
import type { WebSocketConstructor } from '../../src/transport/signaling-client.ts';
import type { SimplePeerConstructor } from '../../src/transport/webrtc-connector.ts';

export function startNodePeer(signalUrl: string, room: string, autoLinks = 0): BootstrapNode {
  const rng = cryptoRng();
  return buildBootstrapNode({
    identity: createIdentity(rng),
    scheme: ed25519Scheme,
    clock: systemClock(),
    rng,
    signalUrl,
    room,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    SimplePeer: SimplePeer as unknown as SimplePeerConstructor,
    wrtc: wrtc as never,
    autoLinks,
  });
}

/** Resolves once `fn()` is true, checked on every change of the node (no polling sleeps). */
export function untilNode(node: BootstrapNode, fn: () => boolean, timeoutMs = 30_000): Promise<void> {
  if (fn()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`condition not met within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = node.on('change', () => {
      if (!fn()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}
