// Shared helpers for the signaling tests: a ws client with an inbox, and condition polling.

import WebSocket, { type ClientOptions } from 'ws';

/** Polls `cond` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Msg {
  type: string;
  [key: string]: unknown;
}

/** A plain ws client that queues what it receives so tests can read frames one by one. */
export class TestClient {
  private readonly inbox: Msg[] = [];
  private wake: (() => void) | null = null;
  closeCode: number | null = null;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.inbox.push(isBinary ? { type: '<binary>' } : (JSON.parse(String(data)) as Msg));
      this.wake?.();
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        this.wake?.();
        resolve(code);
      }),
    );
  }

  static connect(url: string, opts?: ClientOptions): Promise<TestClient> {
    const ws = new WebSocket(url, opts);
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends an object as JSON, or a string / Buffer as it is (a Buffer goes as a binary frame). */
  send(frame: unknown): void {
    if (typeof frame === 'string') this.ws.send(frame);
    else if (frame instanceof Uint8Array) this.ws.send(frame, { binary: true });
    else this.ws.send(JSON.stringify(frame));
  }

  /** Next received frame, waiting up to `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.closeCode !== null) throw new Error(`connection closed (${this.closeCode}) with no frame`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
    return this.inbox.shift() as Msg;
  }

  /**
   * Sends a ping and returns every frame received before the pong. The server handles one
   * connection's frames in order and relays synchronously, so this shows what an earlier action
   * delivered to this client without sleeping.
   */
  async drainUntilPong(timeoutMs = 3000): Promise<Msg[]> {
    this.send({ type: 'ping' });
    const before: Msg[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      if (m.type === 'pong') return before;
      before.push(m);
    }
  }

  close(): Promise<number> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}

export async function getText(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
}
