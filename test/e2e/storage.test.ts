// Replicated storage in real tabs with real IndexedDB: keys survive crashed tabs, a reloaded tab keeps
// its id and its records, and a new set of tabs in the same profile puts the records of gone tabs back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { closeBrowser, launchBrowser, nodeId, openTabs, waitFor, type AppWindow } from './browser.ts';

const KEYS = 200;
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await closeBrowser(browser);
});

/** Reads every key from the page; returns the keys that did not read back their value. */
function missingKeys(page: Page): Promise<number[]> {
  return page.evaluate(async (count) => {
    const s = (window as unknown as AppWindow).selfmesh;
    const missing: number[] = [];
    for (let start = 0; start < count; start += 20) {
      const batch = Array.from({ length: Math.min(20, count - start) }, (_, j) => start + j);
      const got = await Promise.all(batch.map((i) => s.get(`e2e-key-${i}`).catch(() => null)));
      got.forEach((g, j) => {
        const i = batch[j]!;
        if (!g || (g.value as { i?: number }).i !== i) missing.push(i);
      });
    }
    return missing;
  }, KEYS);
}

/** Waits until the page reads every key (repair runs in the background); fails with what is missing. */
async function untilAllRead(page: Page, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing = await missingKeys(page);
  while (missing.length > 0 && Date.now() < deadline) {
    await page.waitForTimeout(1_000);
    missing = await missingKeys(page);
  }
  expect(missing).toEqual([]);
}

describe('storage in real tabs', () => {
  it('keeps every key through crashes, reloads, and a whole new set of tabs', { timeout: 400_000 }, async () => {
    const room = `storage-e2e-${Date.now().toString(36)}`;
    const pages = await openTabs(browser, 6, room, { query: { headless: '1' } });
    const ids = await Promise.all(pages.map(nodeId));
    // 200 keys, written from several tabs.
    await Promise.all(
      pages.map((page, t) =>
        page.evaluate(
          async ([tab, count]) => {
            const s = (window as unknown as AppWindow).selfmesh;
            for (let i = tab; i < count; i += 6) await s.put(`e2e-key-${i}`, { i, from: tab });
          },
          [t, KEYS] as const,
        ),
      ),
    );

    // Two tabs crash: their renderers die, nothing is handed over.
    for (const page of pages.slice(4)) {
      const cdp = await page.context().newCDPSession(page);
      const crashed = page.waitForEvent('crash');
      void cdp.send('Page.crash').catch(() => undefined);
      await crashed;
    }
    const alive = pages.slice(0, 4);
    for (const page of alive) await untilAllRead(page, 120_000);

    // A reload keeps the tab's id and its records, and the room does not see a second copy of it.
    const reloaded = alive[1]!;
    const recordsBefore = await reloaded.evaluate(() => (window as unknown as AppWindow).selfmesh.stats().records);
    expect(recordsBefore).toBeGreaterThan(0);
    await reloaded.reload();
    await waitFor(reloaded, () => (window as unknown as AppWindow).selfmesh?.progress().done.includes('joined') === true, undefined, 60_000);
    expect(await nodeId(reloaded)).toBe(ids[1]);
    const recordsAfter = await reloaded.evaluate(() => (window as unknown as AppWindow).selfmesh.stats().records);
    expect(recordsAfter).toBeGreaterThan(0);
    await untilAllRead(reloaded, 60_000);
    const seen = new Set<string>();
    for (const page of alive) {
      for (const link of await page.evaluate(() => (window as unknown as AppWindow).selfmesh.links())) seen.add(link.id);
    }
    expect([...seen].filter((id) => !ids.slice(0, 4).includes(id))).toEqual([]);

    // Every tab goes away; three new tabs in the same profile find the gone tabs' databases and put
    // their records back into the room.
    const context = alive[0]!.context();
    for (const page of alive) await page.close();
    const fresh = await openTabs(browser, 3, room, { query: { headless: '1' } });
    expect(fresh[0]!.context()).toBe(context);
    await untilAllRead(fresh[2]!, 120_000);
    await untilAllRead(fresh[0]!, 60_000);
  });
});
