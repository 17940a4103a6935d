// `npm run bench -- swap --json`: hot swaps of a component under many concurrent callers, in Node.
// Reports the pause (how long new calls were held) per swap, how many calls were held or in flight
// during swaps, and how many calls were lost or failed (the target is 0). Options: --swaps N,
// --callers N. rolloutSecondsFor8Tabs: 8 real Chromium tabs (the built app, its signaling server) run
// chat v1 loaded from the DHT; v2 is published from one tab; the time until all 8 run v2 (--tabs N,
// --no-tabs to skip).
import type { AppWindow } from '../test/e2e/browser.ts';
import { closeBrowser, launchBrowser, openTabs, waitFor } from '../test/e2e/browser.ts';
import { buildApp, startAppServer } from '../test/e2e/app-server.ts';
import { systemClock } from '../src/core/clock.ts';
import { defineComponent, type ComponentDefinition } from '../src/components/define.ts';
import { ComponentRuntime } from '../src/components/runtime.ts';

function counter(version: string, stateVersion: number): ComponentDefinition {
  return defineComponent({
    name: 'counter',
    version,
    provides: ['counter'],
    stateVersion,
    migrate: (old) => ({ ...(old as object) }),
    downgrade: (s) => ({ ...(s as object) }),
    create: () => {
      let count = 0;
      const last = new Map<string, number>();
      return {
        getState: () => ({ count, last: [...last] }),
        setState: (s: unknown) => {
          const st = s as { count: number; last: Array<[string, number]> };
          count = st.count;
          for (const [k, v] of st.last) last.set(k, v);
        },
        health: () => true,
        async inc(caller: string, seq: number) {
          // Order check inside the component: each caller's calls arrive in sequence.
          if ((last.get(caller) ?? -1) + 1 !== seq) throw new Error(`out of order: ${caller} ${seq}`);
          last.set(caller, seq);
          count++;
          // Half the calls stay in flight across a macrotask, so swaps have calls to drain.
          if (seq % 2 === 0) await new Promise<void>((r) => setImmediate(r));
          return count;
        },
      };
    },
  });
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Seconds from v2's publish (in one tab) until every tab runs it, in a room of `tabs` tabs on chat v1. */
async function rolloutSeconds(tabs: number): Promise<{ seconds: number; publish: string }> {
  const server = await startAppServer(await buildApp());
  const browser = await launchBrowser();
  try {
    const pages = await openTabs(browser, tabs, 'bench-rollout', { baseUrl: server.httpUrl, timeoutMs: 90_000 });
    // Runs in the page: the version comes in as the argument, not from this closure.
    const runs = (version: string) =>
      (window as unknown as AppWindow).selfmesh.components().some((c) => c.name === 'chat' && c.version === version && c.state === 'started');
    for (const page of pages) await waitFor(page, runs, '1.0.0', 90_000);
    const clock = systemClock();
    const started = clock.now();
    const published = pages[0]!.evaluate(() => (window as unknown as AppWindow).selfmesh.publish('chat', '2.0.0'));
    await Promise.all(pages.map((page) => waitFor(page, runs, '2.0.0', 60_000)));
    const seconds = (clock.now() - started) / 1000;
    return { seconds: Math.round(seconds * 1000) / 1000, publish: (await published).text };
  } finally {
    await closeBrowser(browser);
    await server.close();
  }
}

export async function run(args: string[]): Promise<unknown> {
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const swaps = opt('swaps', 200);
  const callers = opt('callers', 64);
  const pipeline = 4; // calls each caller keeps outstanding
  const clock = systemClock();
  const rt = new ComponentRuntime({ node: '0'.repeat(64), clock, drainTimeoutMs: 1000, stepTimeoutMs: 1000 });
  rt.install(counter('1.0.0', 1));
  await rt.start('counter');

  let issued = 0;
  let ok = 0;
  let failed = 0;
  let running = true;
  const firstErrors: string[] = [];
  const caller = async (name: string) => {
    let seq = 0;
    const outstanding = new Set<Promise<void>>();
    while (running) {
      const p: Promise<void> = rt
        .call('counter', 'inc', [name, seq++], name)
        .then(
          () => void ok++,
          (e: unknown) => {
            failed++;
            if (firstErrors.length < 5) firstErrors.push(String(e));
          },
        )
        .finally(() => outstanding.delete(p));
      issued++;
      outstanding.add(p);
      if (outstanding.size >= pipeline) await Promise.race(outstanding);
    }
    await Promise.all(outstanding);
  };
  const loops = Array.from({ length: callers }, (_, i) => caller(`c${i}`));

  const pauses: number[] = [];
  let callsDuringSwap = 0;
  let failedSwaps = 0;
  const started = clock.now();
  for (let i = 0; i < swaps; i++) {
    // Let traffic build up between swaps.
    await new Promise<void>((r) => setImmediate(r));
    const def = i % 2 === 0 ? counter(`1.${i + 1}.0`, 2) : counter(`1.${i + 1}.0`, 1);
    const report = await rt.swap('counter', def);
    if (!report.ok) failedSwaps++;
    pauses.push(report.pauseMs);
    callsDuringSwap += report.drained + report.held;
  }
  running = false;
  await Promise.all(loops);
  const elapsed = (clock.now() - started) / 1000;
  pauses.sort((a, b) => a - b);
  const tabs = opt('tabs', 8);
  const rollout = args.includes('--no-tabs') ? null : await rolloutSeconds(tabs);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    swapPauseMsP50: round(quantile(pauses, 0.5)),
    swapPauseMsP99: round(quantile(pauses, 0.99)),
    swapPauseMsMax: round(pauses[pauses.length - 1] ?? 0),
    callsDuringSwap,
    lostCalls: issued - ok,
    failedCalls: failed,
    rolloutSecondsFor8Tabs: tabs === 8 ? (rollout?.seconds ?? null) : null,
    ...(rollout ? { rolloutTabs: tabs, rolloutSeconds: rollout.seconds, rolloutPublish: rollout.publish } : {}),
    swaps,
    failedSwaps,
    callers,
    totalCalls: issued,
    callsPerSecond: Math.round(issued / elapsed),
    ...(firstErrors.length ? { firstErrors } : {}),
  };
}
