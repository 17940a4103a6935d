import { describe, expect, it } from 'vitest';
import type { Id } from '../../src/core/id.ts';
import { keyFor } from '../../src/storage/records.ts';
import { Cluster } from './helpers/ideal-overlay.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const TTL = 60_000;

async function isTombstoneAt(c: Cluster, id: Id, key: Id): Promise<boolean> {
  const rec = await c.node(id).storage.local(key);
  return rec?.kind === 'versioned' && rec.value === null;
}

describe('tombstone collection', () => {
  it('keeps a tombstone until it is old enough, then every holder drops it and it does not come back', async () => {
    const c = await Cluster.create(10, { config: { tombstoneTtlMs: TTL, antiEntropyMs: 5_000 } });
    const key = keyFor('gone');
    const other = keyFor('kept');
    const writer = c.outsider(key);
    await writer.storage.put(key, bytes('v'));
    await writer.storage.put(other, bytes('w'));
    await writer.storage.delete(key);
    await c.settle();
    const holders = c.closest(key, 3);
    for (const id of holders) expect(await isTombstoneAt(c, id, key)).toBe(true);

    // Younger than the bound: nothing is collected.
    await c.advance(TTL / 2);
    for (const id of holders) expect(await c.node(id).storage.collectTombstones()).toBe(0);
    expect(c.holdersOf(key).sort()).toEqual([...holders].sort());

    // Past the bound (the timers run the collection, anti-entropy runs meanwhile): gone everywhere.
    await c.advance(TTL);
    expect(c.holdersOf(key)).toEqual([]);
    const collected = [...c.nodes.values()].reduce((s, x) => s + x.storage.stats().tombstonesCollected, 0);
    expect(collected).toBe(3);
    expect(await c.any().storage.get(key)).toBeNull();
    // Live records are never collected.
    expect(c.holdersOf(other).sort()).toEqual(c.closest(other, 3).sort());

    // Anti-entropy and handoff keep running: the collected tombstone stays collected.
    await c.advance(3 * TTL);
    expect(c.holdersOf(key)).toEqual([]);
    // A write after collection works as on a fresh key.
    await writer.storage.put(key, bytes('again'));
    expect(new TextDecoder().decode((await c.any().storage.get(key))!)).toBe('again');
  });

  it('gives the tombstone to a holder that missed the delete before collecting it', async () => {
    const c = await Cluster.create(10, { config: { tombstoneTtlMs: TTL, retryMs: 0, coverFailedWrites: false } });
    const key = keyFor('missed');
    const writer = c.outsider(key);
    await writer.storage.put(key, bytes('old'));
    await c.settle();
    const [a, b, late] = c.closest(key, 3) as [Id, Id, Id];
    // The delete does not reach `late`, which keeps the old value (no anti-entropy, no retries here).
    c.net.filter = (_from, to, method) => !(to === late && method === 'storage.put');
    await writer.storage.delete(key);
    await c.settle();
    c.net.filter = () => true;
    expect(await isTombstoneAt(c, late, key)).toBe(false);
    expect(await isTombstoneAt(c, a, key)).toBe(true);

    // Past the bound, the holders' collection passes (timers) offer the tombstone around first.
    await c.advance(TTL + 20_000);
    expect(c.node(a).storage.holds(key)).toBe(false);
    expect(c.node(b).storage.holds(key)).toBe(false);
    // `late` got the tombstone before the others dropped theirs: the old value cannot come back from it.
    expect(await isTombstoneAt(c, late, key)).toBe(true);
    expect(await c.any().storage.get(key)).toBeNull();
    // It received it only now: it keeps it for a full TTL, then collects it too (a and b say "held").
    await c.advance(TTL);
    expect(c.holdersOf(key)).toEqual([]);
    expect(c.node(late).storage.stats().tombstonesCollected).toBe(1);
    expect(await c.any().storage.get(key)).toBeNull();
  });

  it('does not collect while a holder cannot confirm, nor with the bound at 0', async () => {
    const c = await Cluster.create(10, { config: { tombstoneTtlMs: TTL, retryMs: 0 } });
    const key = keyFor('unsure');
    const writer = c.outsider(key);
    await writer.storage.delete(key);
    await c.settle();
    const [a, , down] = c.closest(key, 3) as [Id, Id, Id];
    c.net.filter = (_from, to) => to !== down;
    await c.advance(2 * TTL);
    expect(await c.node(a).storage.collectTombstones()).toBe(0);
    expect(await isTombstoneAt(c, a, key)).toBe(true);
    c.net.filter = () => true;
    expect(await c.node(a).storage.collectTombstones()).toBe(1);

    const never = await Cluster.create(6, { config: { tombstoneTtlMs: 0 } });
    const k2 = keyFor('forever');
    await never.any().storage.delete(k2);
    await never.settle();
    await never.advance(30 * TTL, 10_000);
    expect(never.holdersOf(k2)).toHaveLength(3);
  });
});
