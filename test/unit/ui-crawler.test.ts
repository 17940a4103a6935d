// The topology view's crawler against an in-page fake room on a manual clock.
import { describe, expect, it } from 'vitest';
import { FakeRoom } from '../../src/app/fake-room.ts';
import { TopologyCrawler, type CrawlerNode } from '../../src/app/ui/topology-crawler.ts';
import { seededRng } from '../../src/core/rng.ts';
import type { Id } from '../../src/core/id.ts';
import { ManualClock } from './helpers/manual-clock.ts';

function setup(size: number, seed = 1) {
  const clock = new ManualClock();
  const room = new FakeRoom({ size, clock, rng: seededRng(seed), hopMs: [1, 5], detectMs: 1000, timeoutMs: 500 });
  const self = room.api(room.ids()[0]!);
  return { clock, room, self };
}

/** Moves virtual time in small steps, letting promise continuations run between them. */
async function run(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function trueEdges(room: FakeRoom): Set<string> {
  const out = new Set<string>();
  for (const [id, node] of room.nodes) for (const other of node.links.keys()) out.add(id < other ? id + other : other + id);
  return out;
}

describe('topology crawler', () => {
  it('keeps inspects in flight and per second within its budget', async () => {
    const { clock, self } = setup(300);
    let inFlight = 0;
    let maxInFlight = 0;
    const counted: CrawlerNode = {
      ...self,
      inspect: async (id: Id) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          return await self.inspect(id);
        } finally {
          inFlight--;
        }
      },
    };
    const crawler = new TopologyCrawler(counted, { clock, concurrency: 4, perSecond: 10 });
    crawler.start();
    await run(clock, 5000);
    crawler.stop();
    expect(maxInFlight).toBeLessThanOrEqual(4);
    expect(crawler.started).toBeLessThanOrEqual(4 + 5 * 10);
    expect(crawler.started).toBeGreaterThanOrEqual(5 * 10 - 5);
  });

  it('learns the room incrementally, starting from its own links', async () => {
    const { clock, room, self } = setup(64);
    const crawler = new TopologyCrawler(self, { clock, concurrency: 4, perSecond: 40 });
    crawler.start();
    // Before any answer, it knows itself and its direct links only.
    expect(crawler.nodes.size).toBe(1 + self.links().length);
    expect(crawler.nodes.size).toBeLessThan(64);
    await run(clock, 200);
    const early = crawler.nodes.size;
    await run(clock, 8000);
    crawler.stop();
    expect(early).toBeLessThanOrEqual(64);
    expect(crawler.nodes.size).toBe(64);
    const learned = new Set(crawler.edges().map(([a, b]) => a + b));
    expect(learned).toEqual(trueEdges(room));
  });

  it('follows a crash, a leave and a join', async () => {
    const { clock, room, self } = setup(40, 7);
    const crawler = new TopologyCrawler(self, { clock, concurrency: 4, perSecond: 40, refreshMs: 2000 });
    crawler.start();
    await run(clock, 5000);
    expect(crawler.nodes.size).toBe(40);

    const others = room.ids().filter((id) => id !== self.id);
    const crashed = others[3]!;
    const left = others[11]!;
    room.crash(crashed);
    room.leave(left);
    const joined = room.addNode();
    await run(clock, 6000);
    crawler.stop();
    expect(crawler.nodes.has(crashed)).toBe(false);
    expect(crawler.nodes.has(left)).toBe(false);
    expect(crawler.nodes.has(joined)).toBe(true);
    expect(new Set(crawler.nodes.keys())).toEqual(new Set(room.ids()));
    expect(new Set(crawler.edges().map(([a, b]) => a + b))).toEqual(trueEdges(room));
  });

  it('drops a node whose inspect fails twice, and only then', async () => {
    const { clock, self } = setup(20, 3);
    const target = self.links()[0]!.id;
    let failures = 0;
    const flaky: CrawlerNode = {
      ...self,
      inspect: async (id: Id) => {
        if (id === target) {
          failures++;
          throw new Error('timeout');
        }
        return self.inspect(id);
      },
    };
    // This node's own link list keeps naming the target, so only the failures can drop it.
    const crawler = new TopologyCrawler(flaky, { clock, concurrency: 1, perSecond: 1000 });
    crawler.start();
    const seenAfterFirst: boolean[] = [];
    crawler.onChange(() => {
      if (failures === 1) seenAfterFirst.push(crawler.nodes.has(target));
    });
    for (let i = 0; i < 1000 && failures < 2; i++) await run(clock, 10);
    crawler.stop();
    expect(failures).toBe(2);
    expect(seenAfterFirst.every(Boolean)).toBe(true);
    expect(crawler.nodes.has(target)).toBe(false);
  });

  it('gives a node that never answered a refresh period before its second try (it may still be joining)', async () => {
    const { clock, self } = setup(20, 3);
    const target = self.links()[0]!.id;
    const tries: number[] = [];
    // The target is not routable at first (a joiner): a route to it ends at another node, for 1 s.
    const joining: CrawlerNode = {
      ...self,
      inspect: async (id: Id) => {
        if (id === target) {
          tries.push(clock.now());
          if (clock.now() < 1000) throw new Error('answered by another node');
        }
        return self.inspect(id);
      },
    };
    const crawler = new TopologyCrawler(joining, { clock, concurrency: 4, perSecond: 1000, refreshMs: 2000 });
    crawler.start();
    await run(clock, 3000);
    crawler.stop();
    expect(tries.length).toBeGreaterThanOrEqual(2);
    expect(tries[1]! - tries[0]!).toBeGreaterThanOrEqual(2000);
    expect(crawler.nodes.get(target)?.inspectedAt).not.toBeNull();
  });
});
