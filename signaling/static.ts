// Serves the built web app (dist/) so that production is one process. Read-only, GET/HEAD only,
// confined to the root directory (no `..`, no encoded separators, no symlinks leading out).

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Sent on every HTTP response. The CSP fits a Vite app that uses WebRTC and its own ws origin. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy':
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; script-src 'self' blob:; " +
    "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
});

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export function sendText(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * Maps a raw request path to a file path inside `root`, or null if it must be refused.
 * Works on the raw, undecoded path: URL normalisation would silently turn `/%2e%2e/x` into `/x`,
 * which is safe but hides the attempt; we refuse it outright instead.
 */
export function resolveRequestPath(root: string, rawUrl: string): string | null {
  const rawPath = rawUrl.split(/[?#]/, 1)[0] ?? '';
  if (!rawPath.startsWith('/')) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return null;
  const rel = decoded.endsWith('/') ? decoded + 'index.html' : decoded;
  const full = path.resolve(root, '.' + rel);
  if (full !== root && !full.startsWith(root + path.sep)) return null;
  return full;
}

/** Returns a request handler for the files under `dir` (which must exist). */
export async function createStaticHandler(dir: string) {
  const root = await realpath(path.resolve(dir));

  return async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendText(res, 405, 'method not allowed\n');
      return;
    }
    const file = resolveRequestPath(root, req.url ?? '/');
    if (file === null) {
      sendText(res, 400, 'bad path\n');
      return;
    }
    let real: string;
    let size: number;
    try {
      real = await realpath(file);
      // A symlink inside dist/ must not lead outside it.
      if (real !== root && !real.startsWith(root + path.sep)) throw new Error('outside root');
      const st = await stat(real);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      sendText(res, 404, 'not found\n');
      return;
    }
    // Vite puts content-hashed files under /assets/: safe to cache forever.
    const immutable = (req.url ?? '').startsWith('/assets/');
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': contentTypeFor(real),
      'Content-Length': size,
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(real);
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  };
}
