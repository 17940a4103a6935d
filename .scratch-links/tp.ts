import { buildApp, startAppServer } from '../test/e2e/app-server.ts';
import { launchBrowser, nodeId, openTabs, type PageWindow } from '../test/e2e/browser.ts';
const extra = process.argv.slice(2);
const server = await startAppServer(await buildApp());
const browser = await launchBrowser(extra);
const [a, b] = await openTabs(browser, 2, 'scratch', { baseUrl: server.httpUrl, query: { auto: '0' } });
const idA = await nodeId(a!), idB = await nodeId(b!);
await a!.evaluate((p) => (window as unknown as PageWindow).selfmesh.connect(p), idB);
for (const [name, page, peer] of [['A->B', a, idB], ['B->A', b, idA]] as const) {
  const t = await page!.evaluate((p) => (window as unknown as PageWindow).selfmesh.transfer(p, 4 << 20, 1), peer);
  const tp = await page!.evaluate((p) => (window as unknown as PageWindow).selfmesh.throughput(p, 4 << 20, 2000), peer);
  console.log(name, 'transfer4M ms', t.ms.toFixed(0), 'tp', tp.MBps.toFixed(1), 'visible', await page!.evaluate(() => document.visibilityState));
}
await browser.close(); await server.close(); process.exit(0);
