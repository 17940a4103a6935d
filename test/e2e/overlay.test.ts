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
    console.log(`link ends signaled: ${viaOverlay} through the overlay, ${viaServer} through the server`);
    expect(viaOverlay).toBeGreaterThan(viaServer);
    // A tab's counters include its connector's, so `selfmesh.stats()` also tells which signals it refused.
    for (const s of links) expect((s.counters['connector.offers'] ?? 0) + (s.counters['connector.answers'] ?? 0)).toBeGreaterThan(0);

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
    // Two tabs that have no link between them (tab 0 drops one) link again, signaled through the overlay.
    const [a] = alive as [Page];
    const peer = aliveIds.find((id, j) => j > 0 && id !== aliveIds[0])!;
    // Both ends must have seen the link go before tab 0 offers again: an offer that reaches a tab still
    // holding the old link is refused as a duplicate (and the offerer backs off), which is not what this
    // step is about. The far end may have linked back already: then its link is a new one.
    const peerPage = alive[aliveIds.indexOf(peer)]!;
    const oldLinkedAt = await peerPage.evaluate((p) => (window as unknown as AppWindow).selfmesh.links().find((l) => l.id === p)?.openedAt, aliveIds[0]!);
    await a.evaluate((p) => (window as unknown as AppWindow).selfmesh.node.overlay.disconnect(p), peer);
    await waitFor(a, (p) => !(window as unknown as AppWindow).selfmesh.links().some((l) => l.id === p), peer, 10_000);
    await waitFor(
      peerPage,
      ([p, at]) => !(window as unknown as AppWindow).selfmesh.links().some((l) => l.id === p && l.openedAt === at),
      [aliveIds[0]!, oldLinkedAt] as const,
      10_000,
    );
    // The far end may relink first (it also wants its neighbour back): either way a new link appears.
    // If the two offers cross and one is refused, its sender backs off for a maintenance round (30 s)
    // and the next round links them: the wait allows for that.
    await a.evaluate((p) => (window as unknown as AppWindow).selfmesh.node.overlay.connect(p), peer);
    const via = await waitFor(
      a,
      (p) => (window as unknown as AppWindow).selfmesh.links().find((l) => l.id === p)?.via,
      peer,
      45_000,
    );
    expect(via).toBe('overlay');
  });

  it('a tab frozen for 15 s (no timers, no answers) is not declared dead, and routes again after', async () => {
    const localServer = await startSignalingServer({ host: '127.0.0.1', port: 0 });
    try {
      const pages = await openTabs(browser, 4, 'overlay-freeze', { query: { signal: localServer.url } });
      const ids = await Promise.all(pages.map(nodeId));
      await untilRoutesConsistent(pages, ids, 20_000);
      const frozen = pages[3]!;
      const cdp = await frozen.context().newCDPSession(frozen);
      await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
      const started = Date.now();
      // Watch the others while the tab is frozen: nobody may declare it dead.
      const deaths = pages.slice(0, 3).map((p) =>
        p.evaluate(
          ([target, ms]) =>
            new Promise<boolean>((resolve) => {
              const s = (window as unknown as AppWindow).selfmesh;
              const off = s.onEvent((e) => {
                if (e.kind === 'dead' && e.node === target) {
                  off();
                  resolve(true);
                }
              });
              setTimeout(() => {
                off();
                resolve(false);
              }, ms);
            }),
          [ids[3]!, 15_000] as const,
        ),
      );
      expect(await Promise.all(deaths)).toEqual([false, false, false]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(14_000);
      await cdp.send('Page.setWebLifecycleState', { state: 'active' });
      await untilRoutesConsistent(pages, ids, 20_000);
    } finally {
      await localServer.close();
    }
  });
});
