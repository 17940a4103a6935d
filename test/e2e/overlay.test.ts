// The overlay in real Chromium tabs over real WebRTC: 8 tabs route to each other, survive 2 crashed
// tabs, and keep routing and linking with the signaling server gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startSignalingServer, type SignalingServer } from '../../signaling/server.ts';
import { closeBrowser, launchBrowser, nodeId, openTabs, waitFor, type AppWindow } from './browser.ts';

let browser: Browser;
let server: SignalingServer;

beforeAll(async () => {
  browser = await launchBrowser();
  // A signaling server of the test's own (the app is served by the global one), so it can be stopped.
  server = await startSignalingServer({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await closeBrowser(browser);
  await server.close().catch(() => undefined);
});

/** Every page routes to every id in `ids`, and the route ends at that id. Returns failures. */
async function routeAll(pages: Page[], ids: string[]): Promise<string[]> {
  const failures: string[] = [];
  for (const page of pages) {
    const results = await page.evaluate(async (targets) => {
      const s = (window as unknown as AppWindow).selfmesh;
      const out: Array<{ target: string; responsible: string | null; error?: string }> = [];
      for (const target of targets) {
        try {
          out.push({ target, responsible: (await s.route(target)).responsible });
        } catch (e) {
          out.push({ target, responsible: null, error: String(e) });
        }
      }
      return out;
    }, ids);
    for (const r of results) if (r.responsible !== r.target) failures.push(`${r.target.slice(0, 8)}: ${r.error ?? r.responsible}`);
  }
  return failures;
}

/** Waits until every page routes every id to itself (the overlay repairs itself in the background). */
async function untilRoutesConsistent(pages: Page[], ids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let failures = await routeAll(pages, ids);
  while (failures.length > 0 && Date.now() < deadline) {
    console.log(`routes not yet consistent: ${failures.slice(0, 5).join('; ')} (${failures.length})`);
    // Each round is a real re-check of every route, not a fixed sleep.
    await pages[0]!.waitForTimeout(500);
    failures = await routeAll(pages, ids);
  }
  expect(failures).toEqual([]);
}

describe('the overlay in real tabs', () => {
  it('8 tabs route to each other, heal after 2 crash, and do without the signaling server', { timeout: 240_000 }, async () => {
    const t0 = Date.now();
    const pages = await openTabs(browser, 8, 'overlay-e2e', { query: { signal: server.url } });
    console.log(`8 tabs joined in ${Date.now() - t0} ms`);
    const ids = await Promise.all(pages.map(nodeId));
    await untilRoutesConsistent(pages, ids, 20_000);

    // No tab links to everyone, and most links were signaled through the overlay.
    const links = await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as AppWindow).selfmesh.stats())));
    const viaServer = links.reduce((a, s) => a + s.linksViaServer, 0);
    const viaOverlay = links.reduce((a, s) => a + s.linksViaOverlay, 0);
    expect(viaOverlay).toBeGreaterThan(viaServer);

    // Two tabs crash (their renderer dies: no goodbye, the links just go dead).
    for (const page of pages.slice(6)) {
      const cdp = await page.context().newCDPSession(page);
      const crashed = page.waitForEvent('crash');
      // Page.crash never answers: the renderer it would answer from is gone.
      void cdp.send('Page.crash').catch(() => undefined);
      await crashed;
    }
    console.log(`crashed 2 tabs at ${Date.now() - t0} ms`);
    const alive = pages.slice(0, 6);
    const aliveIds = ids.slice(0, 6);
    for (const page of alive) {
      await waitFor(
        page,
        (gone) => !(window as unknown as AppWindow).selfmesh.links().some((l) => gone.includes(l.id)),
        ids.slice(6),
        60_000,
      );
    }
    console.log(`crash detected at ${Date.now() - t0} ms`);
    await untilRoutesConsistent(alive, aliveIds, 30_000);
    console.log(`routes consistent again at ${Date.now() - t0} ms`);

    // The signaling server goes away: routing goes on, and new links are signaled through the overlay.
    await server.close();
    await untilRoutesConsistent(alive, aliveIds, 10_000);
    const linked = await Promise.all(alive.map((p) => p.evaluate(() => (window as unknown as AppWindow).selfmesh.links().map((l) => l.id))));
    let pair: [number, string] | undefined;
    for (let i = 0; i < alive.length && !pair; i++) {
      const other = aliveIds.find((id, j) => j !== i && !linked[i]!.includes(id));
      if (other) pair = [i, other];
    }
    if (pair) {
      const [i, target] = pair;
      const ok = await alive[i]!.evaluate((t) => (window as unknown as AppWindow).selfmesh.node.overlay.connect(t), target);
      expect(ok).toBe(true);
      await waitFor(alive[i]!, (t) => (window as unknown as AppWindow).selfmesh.links().some((l) => l.id === t), target, 15_000);
    } else {
      // Six tabs all linked to each other: nothing left to link, which the table bound allows at this size.
      expect(linked.every((l) => l.length === 5)).toBe(true);
    }
  });
});
