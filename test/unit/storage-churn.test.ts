import { describe, expect, it } from 'vitest';
import type { Id } from '../../src/core/id.ts';
import { compareStamp, keyFor, stampOf } from '../../src/storage/records.ts';
import { Cluster } from './helpers/ideal-overlay.ts';

const text = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : null);

describe('churn over the ideal overlay', () => {
  it('loses no acknowledged write, reads the latest, and replicas agree once churn stops', async () => {
    const c = await Cluster.create(30, { seed: 5 });
    const keys = Array.from({ length: 150 }, (_, i) => keyFor(`churn${i}`));
    const acked = new Map<Id, { value: string; counter: number }>();
    let writes = 0;
    const write = async (i: number) => {
      const key = keys[i % keys.length]!;
      const nodes = [...c.nodes.values()];
      const node = nodes[c.rng.int(nodes.length)]!;
      const value = `v${writes++}`;
      try {
        const v = await node.storage.put(key, new TextEncoder().encode(value));
        const prev = acked.get(key);
        if (!prev || v.counter > prev.counter) acked.set(key, { value, counter: v.counter });
      } catch {
        // Not acknowledged (its node died mid-write): no promise was made.
      }
    };
    for (let i = 0; i < keys.length; i++) await write(i);
    await c.settle();
    for (let step = 0; step < 20; step++) {
      const batch = Array.from({ length: 15 }, (_, j) => write(step * 15 + j));
      // One crash per step, repaired before the next: never more than r - 1 holders of a key lost.
      const ids = [...c.nodes.keys()];
      c.kill(ids[c.rng.int(ids.length)]!);
      if (step % 2 === 0) await c.add();
      await Promise.all(batch);
      await c.settle();
    }
    await c.advance(20_000);
    const reader = c.any();
    for (const [key, { value }] of acked) expect(text(await reader.storage.get(key)), key.slice(0, 8)).toBe(value);
    await c.settle();
    for (const key of keys) {
      // Twenty crashes among 30 nodes is heavy churn: the replication policy may have raised r above 3.
      // Under churn, former holders keep their copies up to the slack ranks (replication-policy.ts).
      const r = c.node(c.closest(key, 1)[0]!).storage.replicas;
      expect(r).toBeGreaterThanOrEqual(3);
      const holders = c.closest(key, r);
      const held = c.holdersOf(key);
      for (const id of holders) expect(held).toContain(id);
      const bound = r > 3 ? r + 2 : r;
      for (const id of held) expect(c.closest(key, bound)).toContain(id);
      const stamps = await Promise.all(holders.map(async (id) => stampOf((await c.node(id).storage.local(key))!)));
      for (const s of stamps) expect(compareStamp(s, stamps[0]!)).toBe(0);
    }
  });
});
