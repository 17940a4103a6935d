// `npm run bench -- browser --json [--max 64] [--system selfmesh|y-webrtc] [--tabs 8,32]`: rooms of 8, 16
// and 32 tabs (64 with --max 64) in real Chromium,
// once with selfmesh and once with the real y-webrtc package, on the same signaling server code.
// Prints one row per system and room size and renders bench/REPORT.md from all results.
import { build } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSignalingServer } from '../signaling/server.ts';
import { pssOfChildBrowsersKB } from './process-memory.ts';
import { percentile, mean } from './stats.ts';
import { renderReport } from './report.ts';

export interface BrowserRow {
  system: 'selfmesh' | 'y-webrtc';
  tabs: number;
  joinMsP50: number;
  joinMsP99: number;
  serverMessagesPerJoin: number;
  linksPerTabMean: number;
  linksPerTabMax: number;
  memoryMBPerTab: number;
  lookupMsP50: number | null;
  lookupMsP99: number | null;
  putMsP50: number | null;
  getMsP50: number | null;
  /** Over the broadcasts that reached every other tab. */
  broadcastMsP50: number | null;
  /** Broadcasts (of 10) that some tab had not seen after BROADCAST_WAIT_MS: counted, not timed. */
  broadcastsMissed: number;
}

/** How long a broadcast may take to reach every tab before it counts as missed. */
const BROADCAST_WAIT_MS = 10_000;

/** The time a tab saw a broadcast (what the wait returned), or null if it had not within the wait. */
async function seenWithin(wait: Promise<{ jsonValue(): Promise<unknown> }>): Promise<number | null> {
  try {
    return (await (await wait).jsonValue()) as number;
  } catch (e) {
    if (e instanceof Error && e.name === 'TimeoutError') return null;
    throw e;
  }
}

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ARGS });
}

/**
 * Waits until the tab's node reports `step`, polling inside the page as the y-webrtc side does. Not
 * page.waitForFunction: that injects Playwright's own script (about 1 MB a tab once compiled), which
 * the memory reading would then charge to selfmesh alone.
 */
async function waitInPage(page: Page, step: string, pollMs: number): Promise<void> {
  const reached = await page.evaluate(async ({ step, pollMs }) => {
    const start = performance.now();
    for (;;) {
      const s = (window as unknown as { selfmesh?: { progress(): { done: string[] } } }).selfmesh;
      if (s && s.progress().done.includes(step)) return true;
      if (performance.now() - start > 60_000) return false;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }, { step, pollMs });
  if (!reached) throw new Error(`a tab did not reach '${step}' within 60 s`);
}

/** A tab's join steps in order: page and signaling, first link, neighbourhood stable, routable, filled. */
const JOIN_STEPS = ['signaling', 'first-link', 'stable', 'joined', 'table-filled'];

async function measureSelfmesh(browser: Browser, httpUrl: string, tabs: number, stats: () => { framesIn: number; framesOut: number }): Promise<BrowserRow> {
  const room = `bench-${tabs}-${Date.now().toString(36)}`;
  const context = await browser.newContext();
  const pages: Page[] = [];
  const joinMs: number[] = [];
  const stepMs: Record<string, number[]> = {};
  const before = stats();
  for (let i = 0; i < tabs; i++) {
    const page = await context.newPage();
    await page.goto(`${httpUrl}/?headless#/r/${room}`);
    await waitInPage(page, 'joined', 20);
    const times = await page.evaluate(() => {
      const s = (window as unknown as { selfmesh: { progress(): { times: Record<string, number>; phases?: Record<string, number> } } }).selfmesh;
      const { times, phases } = s.progress();
      return Object.fromEntries(Object.entries({ ...times, ...phases }).map(([step, at]) => [step, at - performance.timeOrigin]));
    });
    joinMs.push(times.joined!);
    // Each step's share: the time since the step before it, in the order a join passes them.
    let previous = 0;
    for (const step of JOIN_STEPS) {
      const at = times[step];
      if (at === undefined) continue;
      (stepMs[step] ??= []).push(at - previous);
      previous = at;
    }
    pages.push(page);
  }
  // Where a join's time goes (to stderr: the rows keep their fields).
  console.error(`selfmesh ${tabs} tabs, join steps p50 (ms since the step before): ${Object.entries(stepMs).map(([step, ms]) => `${step} ${percentile(ms, 50).toFixed(0)}`).join(', ')}`);
  // Let maintenance settle the tables, then count links.
  await Promise.all(pages.map((p) => waitInPage(p, 'table-filled', 100)));
  const after = stats();
  const links = await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as { selfmesh: { links(): unknown[] } }).selfmesh.links().length)));
  const memoryMBPerTab = pssOfChildBrowsersKB() / 1024 / tabs;

  const lookups: number[] = [];
  const puts: number[] = [];
  const gets: number[] = [];
  for (let i = 0; i < 100; i++) {
    const page = pages[i % tabs]!;
    const reader = pages[(i * 7 + 3) % tabs]!;
    lookups.push(await page.evaluate(async () => {
      const s = (window as unknown as { selfmesh: { route(k: string): Promise<unknown> } }).selfmesh;
      const key = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
      const t0 = performance.now();
      await s.route(key);
      return performance.now() - t0;
    }));
    if (i < 50) {
      puts.push(await page.evaluate(async (k) => {
        const s = (window as unknown as { selfmesh: { put(k: string, v: unknown): Promise<unknown> } }).selfmesh;
        const t0 = performance.now();
        await s.put(k, { n: k });
        return performance.now() - t0;
      }, `bench-key-${i}`));
      gets.push(await reader.evaluate(async (k) => {
        const s = (window as unknown as { selfmesh: { get(k: string): Promise<unknown> } }).selfmesh;
        const t0 = performance.now();
        await s.get(k);
        return performance.now() - t0;
      }, `bench-key-${i}`));
    }
  }
  const broadcasts: number[] = [];
  let broadcastsMissed = 0;
  for (let i = 0; i < 10; i++) {
    const sender = pages[i % tabs]!;
    const { id, at } = await sender.evaluate(async () => {
      const s = (window as unknown as { selfmesh: { broadcast(p: unknown): Promise<string> } }).selfmesh;
      const at = performance.timeOrigin + performance.now();
      const id = await s.broadcast({ ping: at });
      return { id, at };
    });
    const seen = await Promise.all(pages.filter((p) => p !== sender).map((p) => seenWithin(p.waitForFunction((bid) => (window as unknown as { selfmesh: { broadcastSeenAt(id: string): number | null } }).selfmesh.broadcastSeenAt(bid), id, { timeout: BROADCAST_WAIT_MS, polling: 10 }))));
    if (seen.includes(null)) broadcastsMissed++;
    else broadcasts.push(Math.max(...(seen as number[])) - at);
  }
  await context.close();
  return {
    system: 'selfmesh', tabs,
    joinMsP50: percentile(joinMs, 50), joinMsP99: percentile(joinMs, 99),
    serverMessagesPerJoin: (after.framesIn + after.framesOut - before.framesIn - before.framesOut) / tabs,
    linksPerTabMean: mean(links), linksPerTabMax: Math.max(...links),
    memoryMBPerTab,
    lookupMsP50: percentile(lookups, 50), lookupMsP99: percentile(lookups, 99),
    putMsP50: percentile(puts, 50), getMsP50: percentile(gets, 50),
    broadcastMsP50: broadcasts.length > 0 ? percentile(broadcasts, 50) : null,
    broadcastsMissed,
  };
}

interface YBench {
  startedAt: number;
  maxConns: number;
  connectedPeers(): number;
  broadcast(id: string): number;
  seenAt(id: string): number | null;
}

async function measureYWebrtc(browser: Browser, httpUrl: string, tabs: number, stats: () => { framesIn: number; framesOut: number }): Promise<BrowserRow> {
  const room = `bench-${tabs}-${Date.now().toString(36)}`;
  const context = await browser.newContext();
  const pages: Page[] = [];
  const joinMs: number[] = [];
  const before = stats();
  for (let i = 0; i < tabs; i++) {
    const page = await context.newPage();
    await page.goto(`${httpUrl}/ywebrtc.html?room=${room}`);
    // A y-webrtc tab is in the room once it is connected to a peer (the doc syncs through it), as a
    // selfmesh tab is once it can route. y-webrtc then goes on connecting to others, up to a random
    // cap of 20 to 34 connections a tab; links are counted once the room has settled, below.
    const t = await page.evaluate(async (others) => {
      const b = (window as unknown as { bench: YBench }).bench;
      const start = performance.now();
      while (others > 0 && b.connectedPeers() < 1 && performance.now() - start < 60_000) await new Promise((r) => setTimeout(r, 5));
      return performance.now();
    }, i);
    joinMs.push(t);
    pages.push(page);
  }
  // Settled: no tab's connection count changed for 2 s (at most 60 s).
  let links: number[] = [];
  for (let last = '', stableSince = Date.now(), start = Date.now(); Date.now() - start < 60_000; ) {
    links = await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as { bench: YBench }).bench.connectedPeers())));
    const now = links.join(',');
    if (now !== last) [last, stableSince] = [now, Date.now()];
    else if (Date.now() - stableSince >= 2_000) break;
    await pages[0]!.waitForTimeout(250);
  }
  const after = stats();
  const memoryMBPerTab = pssOfChildBrowsersKB() / 1024 / tabs;
  const broadcasts: number[] = [];
  let broadcastsMissed = 0;
  for (let i = 0; i < 10; i++) {
    const sender = pages[i % tabs]!;
    const id = `b${i}`;
    const at = await sender.evaluate((bid) => (window as unknown as { bench: YBench }).bench.broadcast(bid), id);
    const seen = await Promise.all(pages.filter((p) => p !== sender).map((p) => seenWithin(p.waitForFunction((bid) => (window as unknown as { bench: YBench }).bench.seenAt(bid), id, { timeout: BROADCAST_WAIT_MS, polling: 10 }))));
    if (seen.includes(null)) broadcastsMissed++;
    else broadcasts.push(Math.max(...(seen as number[])) - at);
  }
  await context.close();
  return {
    system: 'y-webrtc', tabs,
    joinMsP50: percentile(joinMs, 50), joinMsP99: percentile(joinMs, 99),
    serverMessagesPerJoin: (after.framesIn + after.framesOut - before.framesIn - before.framesOut) / tabs,
    linksPerTabMean: mean(links), linksPerTabMax: Math.max(...links),
    memoryMBPerTab,
    lookupMsP50: null, lookupMsP99: null, putMsP50: null, getMsP50: null,
    broadcastMsP50: broadcasts.length > 0 ? percentile(broadcasts, 50) : null,
    broadcastsMissed,
  };
}

export async function run(args: string[]): Promise<BrowserRow[]> {
  const max = Number(option(args, '--max') ?? 32);
  // `--tabs 32` (or `8,32`) measures those room sizes only and keeps the other rows of the last run.
  const picked = option(args, '--tabs')?.split(',').map(Number);
  const sizes = picked ?? [8, 16, 32, 64].filter((n) => n <= max);
  const root = process.cwd();
  await build({ root, logLevel: 'warn' });
  // The y-webrtc page gets the app's output charset (ASCII, see vite.config.ts): a build setting is not
  // what the comparison is about.
  await build({ root: join(root, 'bench/pages'), base: './', logLevel: 'warn', build: { outDir: join(root, 'bench/.build'), emptyOutDir: true, rolldownOptions: { input: join(root, 'bench/pages/ywebrtc.html'), output: { charset: 'ascii' } } } });
  // `--system selfmesh` re-measures one system and keeps the other's rows from the last run.
  const only = option(args, '--system');
  const resultsFile = join(root, 'bench/results/browser.json');
  const remeasured = (r: BrowserRow) => (!only || r.system === only) && sizes.includes(r.tabs);
  const rows: BrowserRow[] = (only || picked) && existsSync(resultsFile)
    ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as BrowserRow[]).filter((r) => !remeasured(r))
    : [];
  for (const system of (['selfmesh', 'y-webrtc'] as const).filter((s) => !only || s === only)) {
    const server = await startSignalingServer({ host: '127.0.0.1', port: 0, serveDir: system === 'selfmesh' ? join(root, 'dist') : join(root, 'bench/.build') });
    try {
      for (const tabs of sizes) {
        const browser = await launch();
        try {
          const row = system === 'selfmesh'
            ? await measureSelfmesh(browser, server.httpUrl, tabs, () => server.stats())
            : await measureYWebrtc(browser, server.httpUrl, tabs, () => server.stats());
          rows.push(row);
          console.error(JSON.stringify(row));
        } finally {
          await browser.close();
        }
      }
    } finally {
      await server.close();
    }
  }
  rows.sort((a, b) => a.system.localeCompare(b.system) || a.tabs - b.tabs);
  renderReport(rows as unknown as Parameters<typeof renderReport>[0]);
  return rows;
}
