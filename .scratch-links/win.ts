import { buildApp, startAppServer } from '../test/e2e/app-server.ts';
import { launchBrowser, nodeId, openTabs, type PageWindow } from '../test/e2e/browser.ts';
const server = await startAppServer(await buildApp());
const browser = await launchBrowser();
const [a, b] = await openTabs(browser, 2, 'scratch', { baseUrl: server.httpUrl, query: { auto: '0' } });
const idB = await nodeId(b!);
await a!.evaluate((p) => (window as unknown as PageWindow).selfmesh.connect(p), idB);
for (const [size, w] of [[4 << 20, 1], [4 << 20, 2], [4 << 20, 3], [4 << 20, 6], [64 << 10, 16], [64 << 10, 64]]) {
  const tp = await a!.evaluate(([p, s, w]) => (window as unknown as PageWindow).selfmesh.throughput(p, s, 2000, w), [idB, size, w] as const);
  console.log(size, w, tp.MBps.toFixed(1));
}
await browser.close(); await server.close(); process.exit(0);
