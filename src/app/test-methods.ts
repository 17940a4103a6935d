// RPC methods and measurements used by the end-to-end tests and the link benchmark. They run the
// same way in a tab and in a Node peer, so a test compares like with like.
import * as v from 'valibot';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Clock } from '../core/clock.ts';
import { seededRng } from '../core/rng.ts';
import type { MethodTable } from '../transport/methods.ts';
import type { Rpc } from '../transport/rpc.ts';

const bytes = v.instance(Uint8Array);

export function registerTestMethods(methods: MethodTable): void {
  methods.register('test.echo', bytes, (body) => body);
  methods.register('test.hash', bytes, (body) => bytesToHex(sha256(body)));
  methods.register('test.sink', bytes, (body) => body.length);
  methods.register('test.ping', v.number(), (n) => n);
}

/** Deterministic bytes, so both ends (and the test) can name the data by (size, seed). */
export function patternBytes(size: number, seed: number): Uint8Array {
  const rng = seededRng(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    const word = (rng.next() * 4294967296) >>> 0;
    out[i] = word & 0xff;
    if (i + 1 < size) out[i + 1] = (word >>> 8) & 0xff;
    if (i + 2 < size) out[i + 2] = (word >>> 16) & 0xff;
    if (i + 3 < size) out[i + 3] = word >>> 24;
  }
  return out;
}

export interface TransferResult {
  localHash: string;
  remoteHash: string;
  echoHash: string;
  ms: number;
}

/** Sends `size` bytes: the far end hashes them, then echoes them back and we hash the echo. */
export async function transferCheck(
  rpc: Rpc,
  size: number,
  seed: number,
  clock: Clock,
): Promise<TransferResult> {
  const data = patternBytes(size, seed);
  const start = clock.now();
  const remoteHash = (await rpc.request('test.hash', data, { timeoutMs: 60_000 })) as string;
  const echo = (await rpc.request('test.echo', data, { timeoutMs: 60_000 })) as Uint8Array;
  return {
    localHash: bytesToHex(sha256(data)),
    remoteHash,
    echoHash: bytesToHex(sha256(echo)),
    ms: clock.now() - start,
  };
}

/** Sequential small round trips; returns each one's duration in ms. */
export async function rttSamples(rpc: Rpc, count: number, clock: Clock): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = clock.now();
    await rpc.request('test.ping', i);
    out.push(clock.now() - start);
  }
  return out;
}

/**
 * Streams `messageBytes` messages for about `durationMs`, with `window` requests in flight; the Rpc
 * outbox holds frames back while the data channel's buffer is above its high-water mark.
 */
export async function throughput(
  rpc: Rpc,
  messageBytes: number,
  durationMs: number,
  clock: Clock,
  window = 3,
): Promise<{ bytes: number; ms: number; MBps: number }> {
  const data = patternBytes(messageBytes, 1);
  const start = clock.now();
  let acked = 0;
  const worker = async () => {
    while (clock.now() - start < durationMs) {
      acked += (await rpc.request('test.sink', data, { timeoutMs: 60_000 })) as number;
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  const ms = clock.now() - start;
  return { bytes: acked, ms, MBps: acked / 1024 / 1024 / (ms / 1000) };
}
