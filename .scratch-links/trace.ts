import { buildApp, startAppServer } from '../test/e2e/app-server.ts';
import { launchBrowser, nodeId, openTabs, type PageWindow } from '../test/e2e/browser.ts';
const server = await startAppServer(await buildApp());
const browser = await launchBrowser();
const [a, b] = await openTabs(browser, 2, 'scratch', { baseUrl: server.httpUrl, query: { auto: '0' } });
const idA = await nodeId(a!), idB = await nodeId(b!);
await a!.evaluate((p) => (window as unknown as PageWindow).selfmesh.connect(p), idB);
await b!.evaluate(`(() => { const l = window.selfmesh.node.rpc("${idA}").link; window.tr = []; l.on("message", (m) => { window.tr.push(performance.timeOrigin + performance.now()); }); })()`);
for (let i = 0; i < 3; i++) {
const r = await a!.evaluate(`(async () => {
  const rpc = window.selfmesh.node.rpc("${idB}"); const l = rpc.link; const ev = [];
  const t0 = performance.timeOrigin + performance.now();
  const off = l.on('drain', () => ev.push(['drain', Math.round(performance.timeOrigin + performance.now() - t0), l.bufferedAmount]));
  const origSend = l.send.bind(l); let sends = 0; l.send = (f) => { sends++; if (sends % 64 === 0) ev.push(['send', Math.round(performance.timeOrigin + performance.now() - t0), l.bufferedAmount]); return origSend(f); };
  await rpc.request('test.sink', new Uint8Array(4 << 20));
  off(); l.send = origSend;
  return { t0, total: performance.timeOrigin + performance.now() - t0, ev };
})()`) as any;
const tr = await b!.evaluate(`(() => { const t = window.tr; window.tr = []; return t; })()`) as number[];
console.log('total', r.total.toFixed(0), JSON.stringify(r.ev));
console.log('recv frames', tr.length, 'first', (tr[0]! - r.t0).toFixed(0), 'last', (tr[tr.length - 1]! - r.t0).toFixed(0), 'gaps>50ms', tr.map((t, i) => i ? t - tr[i-1]! : 0).map((g, i) => [i, Math.round(g)]).filter(([, g]) => g! > 50).join(' '));
}
await browser.close(); await server.close(); process.exit(0);
