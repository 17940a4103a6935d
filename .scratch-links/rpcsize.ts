import { buildApp, startAppServer } from '../test/e2e/app-server.ts';
import { launchBrowser, nodeId, openTabs, type PageWindow } from '../test/e2e/browser.ts';
const server = await startAppServer(await buildApp());
const browser = await launchBrowser();
const [a, b] = await openTabs(browser, 2, 'scratch', { baseUrl: server.httpUrl, query: { auto: '0' } });
const idB = await nodeId(b!);
await a!.evaluate((p) => (window as unknown as PageWindow).selfmesh.connect(p), idB);
for (const size of [16 << 10, 256 << 10, 1 << 20, 4 << 20, 4 << 20]) {
  const tp = await a!.evaluate(([p, s]) => (window as unknown as PageWindow).selfmesh.throughput(p, s, 2000), [idB, size] as const);
  console.log(size, tp.MBps.toFixed(1));
}
await browser.close(); await server.close(); process.exit(0);
