// `npm run bench -- link [--setups N] [--rtts N] [--seconds S]`: one WebRTC link between two Chromium
// tabs on this machine, through the real signaling server: link setup time (offer to open, several
// setups), RPC round-trip time, and throughput with 4 MiB messages that respect backpressure.
import type { Page } from 'playwright-core';
import { buildApp, startAppServer } from '../test/e2e/app-server.ts';
import {
  closeBrowser,
  launchBrowser,
  nodeId,
  openTabs,
  waitFor,
  type PageWindow,
} from '../test/e2e/browser.ts';

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

export async function run(args: string[]): Promise<unknown> {
  const setups = option(args, 'setups', 10);
  const rtts = Math.max(200, option(args, 'rtts', 500));
  const seconds = option(args, 'seconds', 6);

  const server = await startAppServer(await buildApp());
  const browser = await launchBrowser();
  try {
    // auto=0: the tabs link only when told to, so every setup below is one we timed.
    const [a, b] = (await openTabs(browser, 2, 'bench-link', {
      baseUrl: server.httpUrl,
      lab: true,
      query: { auto: '0' },
    })) as [Page, Page];
    const idB = await nodeId(b);
    const none = () => (window as unknown as PageWindow).selfmesh.links().length === 0;

    const setupMs: number[] = [];
    for (let i = 0; i < setups; i++) {
      setupMs.push(
        await a.evaluate((peer) => (window as unknown as PageWindow).selfmesh.timedConnect(peer), idB),
      );
      if (i < setups - 1) {
        await a.evaluate((peer) => (window as unknown as PageWindow).selfmesh.disconnect(peer), idB);
        await Promise.all([waitFor(a, none, undefined), waitFor(b, none, undefined)]);
      }
    }

    const rttMs = await a.evaluate(([peer, n]) => (window as unknown as PageWindow).selfmesh.rtt(peer, n), [
      idB,
      rtts,
    ] as const);
    const tp = await a.evaluate(
      ([peer, ms]) => (window as unknown as PageWindow).selfmesh.throughput(peer, 4 * 1024 * 1024, ms),
      [idB, seconds * 1000] as const,
    );
    return {
      setupMsP50: round(percentile(setupMs, 50)),
      rttMsP50: round(percentile(rttMs, 50), 3),
      rttMsP99: round(percentile(rttMs, 99), 3),
      throughputMBps: round(tp.MBps),
      setups,
      setupMsMax: round(Math.max(...setupMs)),
      roundTrips: rttMs.length,
      throughputBytes: tp.bytes,
      throughputSeconds: round(tp.ms / 1000),
      messageBytes: 4 * 1024 * 1024,
      browser: `chromium ${browser.version()}`,
    };
  } finally {
    await closeBrowser(browser);
    await server.close();
  }
}
