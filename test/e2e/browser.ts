// Helpers for end-to-end tests and benchmarks that drive real Chromium tabs through playwright-core.
// Conditions are awaited with page.waitForFunction, never with fixed sleeps.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { BrowserNodeApi } from '../../src/app/browser-node.ts';
import type { SelfmeshTestApi } from '../../src/app/boot.ts';

/** Flags that keep Chromium from reaching out to hosts this closed network refuses. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `window.selfmesh` as seen from a page.evaluate callback. */
export type PageWindow = Window & { selfmesh: SelfmeshTestApi };
/** The app's `window.selfmesh`: the running node. */
export type AppWindow = Window & { selfmesh: BrowserNodeApi };

export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}

const contexts = new WeakMap<Browser, BrowserContext>();
const consoleErrors = new WeakMap<Page, string[]>();

/** One shared context per browser: sessionStorage is per tab anyway, so each tab is its own node. */
async function sharedContext(browser: Browser): Promise<BrowserContext> {
  let ctx = contexts.get(browser);
  if (!ctx) {
    ctx = await browser.newContext();
    contexts.set(browser, ctx);
  }
  return ctx;
}

export interface OpenOptions {
  /** Base URL of the app (default: the e2e global setup's `httpUrl`). */
  baseUrl?: string;
  /** Extra query parameters, e.g. `{ auto: '0' }` to stop automatic links. */
  query?: Record<string, string>;
  /** Open the link lab (transport only, `?lab`) instead of the app; waits for signaling, not for a join. */
  lab?: boolean;
  /** Open each tab in a context of its own (separate storage). */
  isolated?: boolean;
  timeoutMs?: number;
}

async function defaultBaseUrl(): Promise<string> {
  // Only inside vitest; benchmarks pass baseUrl.
  const { inject } = await import('vitest');
  return inject('httpUrl');
}

export function roomUrl(baseUrl: string, room: string, query: Record<string, string> = {}): string {
  const url = new URL(baseUrl);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  url.hash = `/r/${room}`;
  return url.toString();
}

/**
 * Opens one tab into `room` and waits until its node has joined the room (in the link lab: until it is
 * connected to the signaling server).
 */
export async function openTab(browser: Browser, room: string, opts: OpenOptions = {}): Promise<Page> {
  const ctx = opts.isolated ? await browser.newContext() : await sharedContext(browser);
  const page = await ctx.newPage();
  const errors: string[] = [];
  consoleErrors.set(page, errors);
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  const query = opts.lab ? { lab: '1', ...opts.query } : opts.query;
  await page.goto(roomUrl(opts.baseUrl ?? (await defaultBaseUrl()), room, query));
  if (opts.lab) {
    await waitFor(page, () => (window as unknown as PageWindow).selfmesh?.signalingOpen() === true, undefined, opts.timeoutMs);
  } else {
    await waitFor(
      page,
      () => (window as unknown as AppWindow).selfmesh?.progress().done.includes('joined') === true,
      undefined,
      opts.timeoutMs,
    );
  }
  return page;
}

/** Opens `n` tabs into `room` (one after another, as people would). */
export async function openTabs(
  browser: Browser,
  n: number,
  room: string,
  opts: OpenOptions = {},
): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < n; i++) pages.push(await openTab(browser, room, opts));
  return pages;
}

/** Waits until `fn(arg)` is truthy in the page; returns its value. */
export async function waitFor<A, R>(
  page: Page,
  fn: (arg: A) => R,
  arg: A,
  timeoutMs = 30_000,
): Promise<NonNullable<R>> {
  const handle = await page.waitForFunction(fn as (arg: unknown) => R, arg as unknown, {
    timeout: timeoutMs,
    polling: 50,
  });
  const value = (await handle.jsonValue()) as NonNullable<R>;
  await handle.dispose();
  return value;
}

export async function nodeId(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as PageWindow).selfmesh.id);
}

/** Console errors and uncaught exceptions seen in a tab opened by openTab. */
export function errorsOf(page: Page): string[] {
  return consoleErrors.get(page) ?? [];
}

export async function closeTabs(pages: Page[]): Promise<void> {
  await Promise.all(pages.map((p) => p.close().catch(() => {})));
}

export async function closeBrowser(browser: Browser | undefined): Promise<void> {
  if (!browser) return;
  await browser.close().catch(() => {});
}
