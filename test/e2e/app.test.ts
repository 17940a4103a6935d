// The web app as people use it, in real Chromium tabs over real WebRTC: create a room from the start
// page, share its link with five more tabs, watch the topology, store and read a key, close a tab.
// Everything goes through the UI (labels, buttons, the view's counts), not through window.selfmesh.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { closeBrowser, launchBrowser, waitFor } from './browser.ts';

const require = createRequire(import.meta.url);
// Evaluated through the DevTools protocol: the app's CSP (rightly) refuses inline <script> tags.
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = 'test-results';

let browser: Browser;
let context: BrowserContext;
const errors = new Map<Page, string[]>();

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
});

afterAll(async () => {
  await context?.close().catch(() => {});
  await closeBrowser(browser);
});

async function newTab(url: string): Promise<Page> {
  const page = await context.newPage();
  const seen: string[] = [];
  errors.set(page, seen);
  page.on('pageerror', (err) => seen.push(`pageerror: ${err.message}`));
  await page.goto(url);
  return page;
}

/** Waits until the tab shows the room view, and returns its node id (from the inspector). */
async function joined(page: Page, timeoutMs = 30_000): Promise<string> {
  await waitFor(page, () => document.querySelector('[data-testid=self-id]')?.getAttribute('title'), undefined, timeoutMs);
  return (await page.getAttribute('[data-testid=self-id]', 'title'))!;
}

/** Node ids the topology view of `page` currently shows (from its node list). */
async function viewIds(page: Page): Promise<string[]> {
  return page.$$eval('.topology tr[data-id]', (rows) => rows.map((r) => r.getAttribute('data-id')!));
}

async function axe(page: Page) {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: Array<{ id: string; nodes: unknown[] }> }> } }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'best-practice'] },
    });
    return result.violations.map((v) => `${v.id} (${v.nodes.length})`);
  });
}

describe('web app: a room of six tabs', () => {
  it('creates a room, shows six nodes, stores across tabs, follows a closed tab', async () => {
    const base = inject('httpUrl');
    const first = await newTab(new URL('/#/', base).toString());

    // Start page: labelled controls, no axe violations, and it works from the keyboard alone.
    await first.waitForSelector('#new-room');
    await first.screenshot({ path: `${SHOTS}/app-start-page.png` });
    expect(await axe(first)).toEqual([]);
    const room = await first.inputValue('#new-room');
    expect(room).toMatch(/^[a-z]+-[a-z]+-[0-9]{2}$/);
    for (let i = 0; i < 12; i++) {
      const onCreate = await first.evaluate(() => document.activeElement?.textContent?.trim() === 'Create room');
      if (onCreate) break;
      await first.keyboard.press('Tab');
    }
    await first.keyboard.press('Enter');
    await waitFor(first, (r) => location.hash === `#/r/${r}`, room);
    const ids = [await joined(first)];

    // The link is the one to share; five more tabs open it.
    const link = await first.inputValue('[data-testid=room-link]');
    expect(link).toBe(new URL(`/#/r/${room}`, base).toString());
    const others: Page[] = [];
    for (let i = 0; i < 5; i++) others.push(await newTab(link));
    for (const page of others) ids.push(await joined(page));
    const tabs = [first, ...others];

    // Within 10 s the first tab's view shows all six nodes and links between them.
    await first.click('.topology summary');
    const sorted = [...ids].sort();
    const topologyState = () => first.evaluate(() => [...document.querySelectorAll('.topology tr[data-id]')]
      .map((r) => `${r.getAttribute('data-id')!.slice(0, 8)}:${r.children[1]?.textContent?.trim() ?? '?'}`).join(' '));
    await waitFor(
      first,
      (want) => {
        const rows = [...document.querySelectorAll('.topology tr[data-id]')];
        const ids = rows.map((r) => r.getAttribute('data-id')!).sort();
        // "Their links": every node has answered the crawler (its links cell is a number, not a dash).
        const answered = rows.every((r) => /^[0-9]+$/.test(r.children[1]?.textContent?.trim() ?? ''));
        const links = Number(document.querySelector('[data-testid=topology-counts]')?.getAttribute('data-links'));
        return ids.join() === want.join() && answered && links >= want.length - 1;
      },
      sorted,
      10_000,
    ).catch(async (e: unknown) => {
      // Say what the view showed (id prefix: its links cell), so a failure tells which node was missing.
      throw new Error(`${String(e)}; want ${sorted.map((id) => id.slice(0, 8)).join(' ')}; view ${await topologyState()}`);
    });
    await first.screenshot({ path: `${SHOTS}/app-room-6-nodes.png` });
    expect(await axe(first)).toEqual([]);

    // A key put in tab 2 is read in tab 5, and the panel lists its replicas.
    const [tab2, tab5] = [tabs[1]!, tabs[4]!];
    await tab2.fill('#store-key', 'greeting');
    await tab2.fill('#store-value', 'hello from tab 2');
    await tab2.click('button:text-is("Put")');
    await waitFor(tab2, () => /^Stored/.test(document.querySelector('[data-testid=store-result]')?.textContent?.trim() ?? ''), undefined);
    await tab5.fill('#store-key', 'greeting');
    await tab5.click('button:text-is("Get")');
    await waitFor(tab5, () => document.querySelector('[data-testid=store-value-read]')?.textContent, undefined);
    expect(await tab5.textContent('[data-testid=store-value-read]')).toBe('hello from tab 2');
    const holders = await tab5.$$eval('[data-testid=store-holders] li', (li) => li.map((l) => l.getAttribute('data-id')!));
    expect(holders.length).toBeGreaterThanOrEqual(2);
    for (const h of holders) expect(ids).toContain(h);

    // Keyboard on the view: focus the ring, step to a node, its details are announced.
    await first.focus('.topology canvas');
    await first.keyboard.press('ArrowRight');
    await waitFor(first, () => document.querySelector('.topology .tip') !== null, undefined);

    // The inspector shows the round trip of the links its failure detector has pinged.
    await waitFor(first, () => [...document.querySelectorAll('[data-testid=link-rtt]')]
      .some((td) => /^(<1|[0-9]+) ms$/.test(td.textContent?.trim() ?? '')), undefined, 30_000);

    // The split under the link count is of the links open now (it once showed counters of every link made).
    const { split, rows } = await first.evaluate(() => ({
      split: document.querySelector('[data-testid=links-split]')?.textContent?.trim() ?? '',
      rows: document.querySelectorAll('[data-testid=link-rtt]').length,
    }));
    const [viaServer, viaOverlay] = (/^([0-9]+) server · ([0-9]+) overlay$/.exec(split) ?? []).slice(1).map(Number);
    expect(viaServer! + viaOverlay!, split).toBe(rows);

    // Closing a tab removes its node from the first tab's view.
    const closed = tabs[3]!;
    const closedId = ids[3]!;
    await closed.close();
    await waitFor(
      first,
      (gone) => {
        const rows = [...document.querySelectorAll('.topology tr[data-id]')].map((r) => r.getAttribute('data-id'));
        return rows.length === 5 && !rows.includes(gone);
      },
      closedId,
      30_000,
    );
    expect(await viewIds(first)).not.toContain(closedId);

    for (const page of tabs) if (page !== closed) expect(errors.get(page)).toEqual([]);
    await Promise.all(tabs.map((p) => p.close().catch(() => {})));
  });

  it('explains a bad room name and offers the way back', async () => {
    const page = await newTab(new URL('/#/r/Not_A_Room', inject('httpUrl')).toString());
    await page.waitForSelector('[role=alert]');
    expect(await page.textContent('[role=alert]')).toContain('not a valid room name');
    await page.click('button:text-is("Back to start")');
    await page.waitForSelector('#new-room');
    expect(errors.get(page)).toEqual([]);
    await page.close();
  });
});
