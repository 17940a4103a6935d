// HTTP side of the signaling server: WebSocket upgrades on any path (y-webrtc connects to the
// bare URL), /health, /metrics, and optionally the built web app.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { SignalingHub } from './hub.ts';
import { resolveLimits, type Limits } from './limits.ts';
import { renderPrometheus, type DropReason, type InType, type OutType, type RejectReason } from './metrics.ts';
import type { ErrorReason } from './protocol.ts';
import { SECURITY_HEADERS, createStaticHandler, sendText } from './static.ts';

export type { Limits } from './limits.ts';
export { DEFAULT_LIMITS } from './limits.ts';
export type { DropReason, InType, OutType, RejectReason } from './metrics.ts';
export type { ErrorReason } from './protocol.ts';

export interface SignalingServerOptions {
  /** Interface to bind; default 127.0.0.1 (never all interfaces unless asked). */
  host?: string;
  /** TCP port; 0 picks a free one. Default 4444, as y-webrtc. */
  port?: number;
  /** Directory of the built web app to serve (e.g. dist/). */
  serveDir?: string;
  limits?: Partial<Limits>;
  log?: (msg: string) => void;
}

export interface SignalingStats {
  connections: number;
  topics: number;
  subscriptions: number;
  framesIn: number;
  framesOut: number;
  errors: number;
  connectionsAccepted: number;
  /** Received frames by type; 'refused' = answered with an error. */
  framesInByType: Record<InType, number>;
  framesOutByType: Record<OutType, number>;
  errorsByReason: Record<ErrorReason, number>;
  /** Upgrades refused before a connection existed. */
  rejectedByReason: Record<RejectReason, number>;
  /** Connections the server closed. */
  droppedByReason: Record<DropReason, number>;
  uptimeSeconds: number;
}

export interface SignalingServer {
  /** ws://host:port, for y-webrtc's `signaling` option. */
  url: string;
  /** http://host:port (no trailing slash, like `url`). */
  httpUrl: string;
  port: number;
  limits: Readonly<Limits>;
  stats(): SignalingStats;
  close(): Promise<void>;
}

const REJECT_STATUS = {
  'max-connections': '503 Service Unavailable',
  'max-connections-per-address': '429 Too Many Requests',
  'shutting-down': '503 Service Unavailable',
} as const;

export async function startSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const host = options.host ?? '127.0.0.1';
  const limits = resolveLimits(options.limits);
  const log = options.log ?? (() => {});
  const hub = new SignalingHub(limits, log);
  const metrics = hub.metrics;
  const serveStatic = options.serveDir ? await createStaticHandler(options.serveDir) : null;

  const stats = (): SignalingStats => ({
    connections: hub.connectionCount,
    topics: hub.topicCount,
    subscriptions: hub.subscriptionCount,
    framesIn: metrics.framesIn,
    framesOut: metrics.framesOut,
    errors: metrics.errors,
    connectionsAccepted: metrics.connectionsAccepted,
    framesInByType: { ...metrics.framesInByType },
    framesOutByType: { ...metrics.framesOutByType },
    errorsByReason: { ...metrics.errorsByReason },
    rejectedByReason: { ...metrics.rejectedByReason },
    droppedByReason: { ...metrics.droppedByReason },
    uptimeSeconds: metrics.uptimeSeconds(),
  });

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const pathname = (req.url ?? '/').split(/[?#]/, 1)[0];
    const readOnly = req.method === 'GET' || req.method === 'HEAD';
    if (readOnly && pathname === '/health') {
      const s = stats();
      const body = {
        ok: true,
        connections: s.connections,
        topics: s.topics,
        uptimeSeconds: Math.round(s.uptimeSeconds),
        framesIn: s.framesIn,
        framesOut: s.framesOut,
        errors: s.errors,
      };
      sendText(res, 200, JSON.stringify(body), 'application/json; charset=utf-8');
    } else if (readOnly && pathname === '/metrics') {
      const gauges = { connections: hub.connectionCount, topics: hub.topicCount, subscriptions: hub.subscriptionCount };
      sendText(res, 200, renderPrometheus(metrics, gauges), 'text/plain; version=0.0.4; charset=utf-8');
    } else if (serveStatic) {
      serveStatic(req, res).catch(() => res.destroy());
    } else if (readOnly && pathname === '/') {
      sendText(res, 200, 'selfmesh signaling server\n');
    } else {
      sendText(res, 404, 'not found\n');
    }
  };

  const server = http.createServer(onRequest);
  // Bound the time a half-open HTTP request may hold a socket.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  // maxPayload at twice our limit: frames a little over the limit get a readable error reply
  // from us, absurd ones are cut by ws before they are buffered. No compression (deflate bombs).
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxFrameBytes * 2,
    perMessageDeflate: false,
    clientTracking: false,
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    // Use the TCP peer, not X-Forwarded-For, which any client can forge.
    const address = req.socket.remoteAddress ?? 'unknown';
    const refused = hub.reserve(address);
    if (refused) {
      metrics.rejected(refused);
      const headers = Object.entries(SECURITY_HEADERS)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.end(`HTTP/1.1 ${REJECT_STATUS[refused]}\r\nConnection: close\r\nContent-Length: 0\r\n${headers}\r\n`);
      return;
    }
    if (socket.destroyed) {
      hub.release(address); // gone before we saw it: its 'close' has already fired
      return;
    }
    socket.once('close', () => hub.release(address));
    wss.handleUpgrade(req, socket, head, (ws) => hub.attach(ws));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4444, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After startup, a socket-level server error must not crash the process.
  server.on('error', (err) => log(`http server error: ${err.message}`));

  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;

  return {
    url: `ws://${urlHost}:${port}`,
    httpUrl: `http://${urlHost}:${port}`,
    port,
    limits,
    stats,
    close() {
      closing ??= (async () => {
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await hub.close();
        wss.close();
        server.closeAllConnections();
        await httpClosed;
      })();
      return closing;
    },
  };
}
