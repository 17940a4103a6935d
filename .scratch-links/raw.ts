import { buildApp, startAppServer } from '../test/e2e/app-server.ts';
import { launchBrowser, nodeId, openTabs, type PageWindow } from '../test/e2e/browser.ts';
const server = await startAppServer(await buildApp());
const browser = await launchBrowser();
const [a, b] = await openTabs(browser, 2, 'scratch', { baseUrl: server.httpUrl, query: { auto: '0' } });
const idA = await nodeId(a!), idB = await nodeId(b!);
await a!.evaluate((p) => (window as unknown as PageWindow).selfmesh.connect(p), idB);
await b!.evaluate(`(() => { const l = window.selfmesh.node.rpc("${idA}").link; window.got = 0; l.on("message", (m) => { window.got += m.length; }); })()`);
const r = await a!.evaluate(`(async (p) => {
  const l = window.selfmesh.node.rpc(p).link;
  const f = new Uint8Array(16384); f[0] = 9;
  const total = 64 << 20; let sent = 0; const t0 = performance.now(); let drains = 0; let maxBuf = 0;
  await new Promise((res) => {
    const pump = () => { while (sent < total && l.bufferedAmount < 1 << 20) { l.send(f); sent += f.length; } maxBuf = Math.max(maxBuf, l.bufferedAmount); if (sent >= total) res(); };
    l.on('drain', () => { drains++; pump(); }); pump();
  });
  return { ms: performance.now() - t0, drains, maxBuf };
})('${idB}')`) as any;
const got = await b!.waitForFunction(() => (window as any).got >= (64 << 20) ? performance.now() : 0);
console.log(r, 'MB/s send side', (64 / (r.ms / 1000)).toFixed(1));
await browser.close(); await server.close(); process.exit(0);
