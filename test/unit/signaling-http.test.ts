// HTTP side: static serving of the built app (types, headers, traversal), /health, /metrics, and
// the CLI's clean shutdown on SIGTERM.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSignalingServer, type SignalingServer } from '../../signaling/server.ts';
import { TestClient, getText, waitFor } from './signaling-helpers.ts';

const CSP =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; script-src 'self' blob:; " +
  "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:";

/** GET with the path sent exactly as written (fetch and URL would normalise `..` away). */
function rawGet(port: number, rawPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: rawPath }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

describe('signaling HTTP', () => {
  let tmp: string;
  let server: SignalingServer;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'selfmesh-static-'));
    const dist = path.join(tmp, 'dist');
    mkdirSync(path.join(dist, 'assets'), { recursive: true });
    writeFileSync(path.join(tmp, 'secret.txt'), 'TOP SECRET');
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>selfmesh</title>');
    const files: Record<string, string> = {
      'assets/app-1234.js': 'console.log(1)',
      'assets/app-1234.css': 'body{}',
      'logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
      'icon.png': 'png',
      'manifest.json': '{}',
      'mod.wasm': 'wasm',
      'assets/app-1234.js.map': '{}',
      'favicon.ico': 'ico',
      'robots.txt': 'User-agent: *',
      'blob.xyz': '?',
    };
    for (const [name, body] of Object.entries(files)) writeFileSync(path.join(dist, name), body);
    symlinkSync(path.join(tmp, 'secret.txt'), path.join(dist, 'link.txt'));
    server = await startSignalingServer({ port: 0, serveDir: dist });
  });

  afterAll(async () => {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('serves index.html for / with the security headers', async () => {
    const res = await getText(server.httpUrl + '/');
    expect(res.status).toBe(200);
    expect(res.body).toContain('<title>selfmesh</title>');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
  });

  it.each([
    ['/index.html', 'text/html; charset=utf-8'],
    ['/assets/app-1234.js', 'text/javascript; charset=utf-8'],
    ['/assets/app-1234.css', 'text/css; charset=utf-8'],
    ['/logo.svg', 'image/svg+xml'],
    ['/icon.png', 'image/png'],
    ['/manifest.json', 'application/json; charset=utf-8'],
    ['/mod.wasm', 'application/wasm'],
    ['/assets/app-1234.js.map', 'application/json; charset=utf-8'],
    ['/favicon.ico', 'image/x-icon'],
    ['/robots.txt', 'text/plain; charset=utf-8'],
    ['/blob.xyz', 'application/octet-stream'],
    ['/robots.txt?v=2', 'text/plain; charset=utf-8'],
  ])('serves %s as %s', async (p, type) => {
    const res = await getText(server.httpUrl + p);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('caches hashed assets forever and the rest not', async () => {
    const asset = await getText(server.httpUrl + '/assets/app-1234.js');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const index = await getText(server.httpUrl + '/');
    expect(index.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers 404 for missing files and 405 for other methods', async () => {
    expect((await getText(server.httpUrl + '/nope.js')).status).toBe(404);
    expect((await getText(server.httpUrl + '/assets/')).status).toBe(404);
    expect((await getText(server.httpUrl + '/index.html', { method: 'POST' })).status).toBe(405);
    const head = await fetch(server.httpUrl + '/index.html', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String('<!doctype html><title>selfmesh</title>'.length));
  });

  it.each([
    ['/../package.json', 400],
    ['/../secret.txt', 400],
    ['/%2e%2e/secret.txt', 400],
    ['/%2E%2E/secret.txt', 400],
    ['/%2e%2e%2fsecret.txt', 400],
    ['/..%2fsecret.txt', 400],
    ['/..%5csecret.txt', 400],
    ['/assets/../../secret.txt', 400],
    ['/assets/%2e%2e/%2e%2e/secret.txt', 400],
    ['/index.html%00.js', 400],
    ['/%E0%A4%A', 400], // malformed percent-encoding
    ['secret.txt', 400], // not an absolute path
    ['/%252e%252e/secret.txt', 404], // double-encoded: a literal file name, which does not exist
    ['/link.txt', 404], // a symlink inside the root that points outside it
  ])('refuses %s (%i)', async (p, status) => {
    const res = await rawGet(server.port, p);
    expect(res.status).toBe(status);
    expect(res.body).not.toContain('TOP SECRET');
    expect(res.body).not.toContain('"name"');
  });

  it('reports /health as JSON', async () => {
    const c = await TestClient.connect(server.url + '/any/path?works=1');
    c.send({ type: 'subscribe', topics: ['h'] });
    await c.drainUntilPong();
    const res = await getText(server.httpUrl + '/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body).toMatchObject({ ok: true, connections: 1, topics: 1, framesIn: 2, framesOut: 1, errors: 0 });
    expect(typeof body.uptimeSeconds).toBe('number');
    await c.close();
    await waitFor(() => server.stats().connections === 0, 'client gone');
  });

  it('reports /metrics in the Prometheus text format', async () => {
    const c = await TestClient.connect(server.url);
    c.send('junk');
    await c.next();
    const res = await getText(server.httpUrl + '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = res.body.trimEnd().split('\n');
    // Every line is a HELP, a TYPE or a sample of a metric declared just above it.
    let declared = '';
    for (const line of lines) {
      const help = /^# HELP (\w+) .+$/.exec(line);
      const type = /^# TYPE (\w+) (gauge|counter)$/.exec(line);
      if (help) declared = help[1]!;
      else if (type) expect(type[1]).toBe(declared);
      else expect(line).toMatch(new RegExp(`^${declared}(\\{\\w+="[\\w-]+"\\})? \\d+(\\.\\d+)?$`));
    }
    expect(res.body).toContain('# TYPE selfmesh_signaling_connections gauge');
    expect(res.body).toContain('selfmesh_signaling_connections 1');
    expect(res.body).toContain('# TYPE selfmesh_signaling_topics gauge');
    expect(res.body).toContain('# TYPE selfmesh_signaling_frames_in_total counter');
    expect(res.body).toContain('selfmesh_signaling_frames_out_total{type="error"} 1');
    expect(res.body).toContain('selfmesh_signaling_errors_total{reason="invalid-json"} 1');
    expect(res.body).toContain('# TYPE selfmesh_signaling_connections_rejected_total counter');
    await c.close();
  });

  it('without a static directory answers / and 404s the rest', async () => {
    const bare = await startSignalingServer({ port: 0 });
    try {
      expect(bare.url).toBe(`ws://127.0.0.1:${bare.port}`);
      expect(bare.httpUrl).toBe(`http://127.0.0.1:${bare.port}`);
      expect((await getText(bare.httpUrl + '/')).status).toBe(200);
      expect((await getText(bare.httpUrl + '/index.html')).status).toBe(404);
      expect((await getText(bare.httpUrl + '/health')).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});

describe('signaling CLI', () => {
  it('prints its URLs, serves, and exits 0 on SIGTERM after closing clients with 1001', async () => {
    const dist = mkdtempSync(path.join(os.tmpdir(), 'selfmesh-cli-'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>cli</title>');
    const child = spawn(process.execPath, ['--import', 'tsx', 'signaling/main.ts', '--serve', dist], {
      cwd: process.cwd(),
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const lines: string[] = [];
      readline.createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
      await waitFor(() => lines.some((l) => l.startsWith('open ')), `CLI start (stderr: ${stderr})`, 15_000);
      const wsLine = lines.find((l) => l.startsWith('selfmesh signaling on '))!;
      const url = wsLine.slice('selfmesh signaling on '.length);
      expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      const httpUrl = url.replace('ws://', 'http://') + '/';
      expect(lines).toContain(`open ${httpUrl}`);
      expect((await getText(httpUrl)).body).toContain('<title>cli</title>');

      const c = await TestClient.connect(url);
      child.kill('SIGTERM');
      expect(await c.closed).toBe(1001);
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dist, { recursive: true, force: true });
    }
  });
});
