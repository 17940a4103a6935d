// Components end to end in real Chromium tabs over real WebRTC: four tabs run chat v1 (published to the
// DHT by the first tab, loaded back through the verifying loader from Blob URLs) with some history;
// chat v2 is published from one tab while several tabs keep sending; every tab runs v2 within 5 s with
// its history, and every message sent during the upgrade arrives on every tab. A tampered version is
// refused in the browser with a clear error, and the tab keeps running what it ran. Last, the CLI
// publishes through a Node peer into a room whose link trusts its key, and the tabs pick it up.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { closeBrowser, closeTabs, errorsOf, launchBrowser, openTabs, waitFor, type AppWindow } from './browser.ts';

const run = promisify(execFile);
// Evaluated through the DevTools protocol, as in app.test.ts (the CSP refuses inline scripts).
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Accessibility violations in the Chat and Components panels (the rest of the page: app.test.ts). */
async function axePanels(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    type Axe = { run: (ctx: unknown, opts: unknown) => Promise<{ violations: Array<{ id: string; nodes: unknown[] }> }> };
    const axe = (window as unknown as { axe: Axe }).axe;
    const result = await axe.run({ include: [['.chat'], ['.components']] }, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'best-practice'] } });
    return result.violations.map((v) => `${v.id} (${v.nodes.length})`);
  });
}
const cli = (...args: string[]) => run('node_modules/.bin/tsx', ['scripts/component.ts', ...args], { timeout: 90_000 });

type Sender = Window & { __sent?: string[]; __stop?: boolean; __sending?: Promise<void> };
const ROOM = 'components-e2e';

let browser: Browser;
let pages: Page[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
  pages = await openTabs(browser, 4, ROOM, { timeoutMs: 60_000 });
});

afterAll(async () => {
  await closeBrowser(browser);
});

const chatVersion = (page: Page) =>
  page.evaluate(() => (window as unknown as AppWindow).selfmesh.components().find((c) => c.name === 'chat')?.version ?? null);

const historyIds = (page: Page) =>
  page.evaluate(async () => (await (window as unknown as AppWindow).selfmesh.chat.history()).map((m) => m.id));

/** Sends a message every 40 ms until told to stop; remembers the ids it sent (a send that fails is kept as an error). */
function startSending(page: Page, tag: string) {
  return page.evaluate((tag) => {
    const w = window as unknown as Sender & AppWindow;
    w.__sent = [];
    w.__stop = false;
    w.__sending = (async () => {
      for (let i = 0; !w.__stop; i++) {
        const m = await w.selfmesh.chat.send(`${tag} ${i}`);
        w.__sent!.push(m.id);
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
  }, tag);
}

async function stopSending(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const w = window as unknown as Sender;
    w.__stop = true;
    await w.__sending;
    return w.__sent ?? [];
  });
}

describe('components in a room of four tabs', () => {
  it('upgrades chat v1 → v2 on every tab within 5 s, with history, losing no message', async () => {
    for (const page of pages)
      await waitFor(page, () => (window as unknown as AppWindow).selfmesh.components().some((c) => c.name === 'chat' && c.state === 'started'), undefined, 60_000);
    expect(await Promise.all(pages.map(chatVersion))).toEqual(['1.0.0', '1.0.0', '1.0.0', '1.0.0']);

    // Some history, on every tab.
    for (const [i, page] of pages.entries())
      for (let k = 0; k < 2; k++)
        await page.evaluate((text) => (window as unknown as AppWindow).selfmesh.chat.send(text), `before ${i}.${k}`);
    const before = (await Promise.all(pages.map(historyIds))).flat();
    const history = [...new Set(before)];
    expect(history).toHaveLength(8);
    for (const page of pages)
      await waitFor(page, async (ids) => {
        const have = new Set((await (window as unknown as AppWindow).selfmesh.chat.history()).map((m) => m.id));
        return ids.every((id) => have.has(id));
      }, history, 20_000);

    // Three tabs keep talking while the first one publishes v2.
    await Promise.all(pages.slice(1).map((p, i) => startSending(p, `during ${i + 1}`)));
    const started = Date.now();
    const published = pages[0]!.evaluate(() => (window as unknown as AppWindow).selfmesh.publish('chat', '2.0.0'));
    await Promise.all(
      pages.map((page) =>
        waitFor(page, () => (window as unknown as AppWindow).selfmesh.components().some((c) => c.name === 'chat' && c.version === '2.0.0'), undefined, 30_000),
      ),
    );
    const rolloutMs = Date.now() - started;
    console.info(`components e2e: 4 tabs on chat 2.0.0 ${rolloutMs} ms after the publish began`);
    const outcome = await published;
    expect(outcome, outcome.text).toMatchObject({ ok: true, name: 'chat', version: '2.0.0' });
    expect(rolloutMs, `every tab ran chat 2.0.0 after ${rolloutMs} ms`).toBeLessThan(5_000);

    // Keep sending on v2 a little (until each sender sent more), then stop and count.
    for (const page of pages.slice(1))
      await waitFor(page, (n) => ((window as unknown as Sender).__sent?.length ?? 0) > n, 5, 20_000);
    const sent = (await Promise.all(pages.slice(1).map(stopSending))).flat();
    expect(sent.length).toBeGreaterThan(15);
    const all = [...history, ...sent];
    for (const page of pages)
      await waitFor(page, async (ids) => {
        const have = new Set((await (window as unknown as AppWindow).selfmesh.chat.history()).map((m) => m.id));
        return ids.every((id) => have.has(id));
      }, all, 20_000);

    // v2's visible addition: every message, old ones included, has its author's colour.
    const v2 = await pages[2]!.evaluate(() => (window as unknown as AppWindow).selfmesh.chat.history());
    expect(v2.length).toBeGreaterThanOrEqual(all.length);
    expect(v2.every((m) => typeof m.color === 'string' && m.reactions !== undefined)).toBe(true);
    // Trading: every tab advertises chat 2 under its interface.
    await waitFor(pages[3]!, async () =>
      (await (window as unknown as AppWindow).selfmesh.componentService.providers('chat', '^2.0.0')).length === 4, undefined, 20_000);
    // The Components panel and the chat show it too.
    await waitFor(pages[0]!, () => document.querySelector('[data-testid=component-chat]')?.textContent?.includes('2.0.0'), undefined, 10_000);
    await waitFor(pages[0]!, () => document.querySelectorAll('[data-testid=chat-messages] li').length > 8, undefined, 10_000);
    expect(await axePanels(pages[0]!)).toEqual([]);
    for (const page of pages) expect(errorsOf(page).filter((e) => !/WebSocket|ERR_CONNECTION/.test(e))).toEqual([]);
  });

  it('refuses a tampered version in the browser with a clear error and keeps running v2', async () => {
    const page = pages[1]!;
    await page.evaluate(() => (window as unknown as AppWindow).selfmesh.publishTampered('chat', '2.0.0', '2.0.1'));
    const outcome = await page.evaluate(() =>
      (window as unknown as AppWindow).selfmesh.componentService.swap('chat', '2.0.1', { scope: 'node' }),
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.text).toMatch(/chat@2\.0\.1: the manifest signature does not verify/);
    expect(await chatVersion(page)).toBe('2.0.0');
    // Code from a key the room does not trust is refused before it is published or imported.
    const untrusted = await page.evaluate(async () => {
      const api = (window as unknown as AppWindow).selfmesh;
      return api.nodeComponents.publish(null, new TextEncoder().encode('export default {}'), {
        name: 'chat', version: '9.0.0', provides: ['chat'], requires: ['room'], stateVersion: 2,
      }).then(() => 'published', (e: Error) => e.message);
    });
    expect(untrusted).toMatch(/does not trust/);
    expect(await chatVersion(page)).toBe('2.0.0');
  });
  it('rolls the whole room back to 1.0.0 by name from the Components panel, history kept', async () => {
    const page = pages[0]!;
    // Every tab holds the same history first (a broadcast may still be on its way): the union of what the
    // tabs hold, waited for on each, then checked with the ids each one misses, so a failure says which.
    const union = [...new Set((await Promise.all(pages.map(historyIds))).flat())];
    for (const p of pages)
      await waitFor(p, async (ids) => {
        const have = new Set((await (window as unknown as AppWindow).selfmesh.chat.history()).map((m) => m.id));
        return ids.every((id) => have.has(id));
      }, union, 10_000).catch(() => undefined);
    const before = await Promise.all(pages.map(historyIds));
    expect(before.map((ids) => union.filter((id) => !ids.includes(id))), 'ids each tab misses before the rollback').toEqual(pages.map(() => []));
    await waitFor(page, () => [...document.querySelectorAll('#swap-version option')].some((o) => (o as HTMLOptionElement).value === '1.0.0'), undefined, 10_000);
    await page.selectOption('#swap-version', '1.0.0');
    await page.getByRole('button', { name: 'Roll back to 1.0.0' }).click();
    await waitFor(page, () => document.querySelector('[data-testid=component-result]')?.textContent?.includes('4 of 4 nodes swapped'), undefined, 20_000);
    for (const [i, p] of pages.entries()) {
      await waitFor(p, () => (window as unknown as AppWindow).selfmesh.components().some((c) => c.name === 'chat' && c.version === '1.0.0'), undefined, 10_000);
      // The rollback keeps each tab's history: the same ids, none lost and none added.
      const after = await historyIds(p);
      expect(before[i]!.filter((id) => !after.includes(id)), `ids tab ${i} lost in the rollback`).toEqual([]);
      expect(after).toHaveLength(before[i]!.length);
    }
    // The room's view follows: every node's summary says 1.0.0, and the topology's legend too.
    await waitFor(page, () => {
      const legend = [...document.querySelectorAll('[data-testid=legend-version]')].map((li) => li.textContent?.trim());
      return legend.length === 1 && legend[0] === 'chat 1.0.0';
    }, undefined, 15_000);
  });
});

describe('npm run component -- publish, through a Node peer', () => {
  it('publishes chat v1 into a room that trusts the CLI key; the tabs load and run it', async () => {
    await closeTabs(pages);
    const dir = mkdtempSync(join(tmpdir(), 'selfmesh-cli-'));
    const keyfile = join(dir, 'publisher.json');
    await cli('keygen', '--out', keyfile);
    const { publicKey } = JSON.parse(readFileSync(keyfile, 'utf8')) as { publicKey: string };
    const room = 'components-cli';
    const tabs = await openTabs(browser, 2, room, { query: { trust: publicKey }, timeoutMs: 60_000 });
    // The link names only the CLI's key: the tabs cannot publish, and wait for trusted code.
    for (const tab of tabs) {
      expect(await tab.evaluate(() => (window as unknown as AppWindow).selfmesh.componentService.publisherKey())).toBeNull();
      expect(await tab.evaluate(() => (window as unknown as AppWindow).selfmesh.components())).toEqual([]);
    }
    const { stdout } = await cli('publish', 'src/components/shipped/chat-v1.js', '--room', room, '--key', keyfile, '--signal', inject('signalUrl'));
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: true, name: 'chat', version: '1.0.0', publisher: publicKey });
    for (const tab of tabs)
      await waitFor(tab, () => (window as unknown as AppWindow).selfmesh.components().some((c) => c.name === 'chat' && c.version === '1.0.0' && c.state === 'started'), undefined, 30_000);
    await closeTabs(tabs);
  });
});
