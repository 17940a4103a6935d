import { describe, expect, it } from 'vitest';
import { isSelfmeshError } from '../../src/core/errors.ts';
import { keyFor } from '../../src/storage/records.ts';
import { Cluster } from './helpers/ideal-overlay.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

describe('quorum reads and writes', () => {
  it('puts on the r closest nodes and gets from any node', async () => {
    const c = await Cluster.create(12);
    const key = keyFor('a');
    const writer = c.outsider(key);
    const version = await writer.storage.put(key, bytes('one'));
    expect(version).toEqual({ counter: 1, writer: writer.id });
    await c.settle();
    expect(c.holdersOf(key).sort()).toEqual(c.closest(key, 3).sort());
    for (const node of c.nodes.values()) expect(text(await node.storage.get(key))).toBe('one');
    const v2 = await c.any().storage.put(key, bytes('two'));
    expect(v2.counter).toBe(2);
    expect(text(await writer.storage.get(key))).toBe('two');
  });

  it('acknowledges a write with one holder down and reads it back (W = R = 2 of 3)', async () => {
    const c = await Cluster.create(10);
    const key = keyFor('b');
    const [h0] = c.closest(key, 3);
    c.net.filter = (_from, to) => to !== h0;
    const writer = c.outsider(key);
    await writer.storage.put(key, bytes('x'));
    expect(text(await writer.storage.get(key))).toBe('x');
    await c.settle();
    expect(c.node(h0!).storage.holds(key)).toBe(false);
  });

  it('covers a holder that failed an acknowledged write with the next spare, so the write outlives the W that took it', async () => {
    const c = await Cluster.create(10);
    const key = keyFor('cover');
    const [h0, h1, h2, s0] = c.closest(key, 4);
    // h0 has crashed silently and nobody noticed yet: every call to it fails.
    c.net.filter = (_from, to) => to !== h0;
    const writer = c.outsider(key);
    await writer.storage.put(key, bytes('x'));
    await c.settle();
    expect(c.node(s0!).storage.holds(key)).toBe(true);
    expect(writer.counters.snapshot()['storage.write.covered']).toBe(1);
    // The two holders that acknowledged it go at once; the write is still there.
    c.kill(h1!);
    c.kill(h2!);
    c.kill(h0!);
    c.net.filter = () => true;
    await c.settle();
    expect(text(await c.any().storage.get(key))).toBe('x');
  });

  it('a spare that stood in for a holder hands the write to it once it answers, then drops its copy', async () => {
    const c = await Cluster.create(10);
    const key = keyFor('stand-in');
    const [h0, , , s0] = c.closest(key, 4);
    c.net.filter = (_from, to) => to !== h0;
    await c.outsider(key).storage.put(key, bytes('x'));
    await c.settle();
    expect(c.node(s0!).storage.holds(key)).toBe(true);
    expect(c.node(h0!).storage.holds(key)).toBe(false);
    // h0 was only slow: the stand-in's retried handoff reaches it.
    c.net.filter = () => true;
    await c.advance(10_000);
    expect(c.node(h0!).storage.holds(key)).toBe(true);
    expect(c.node(s0!).storage.holds(key)).toBe(false);
    expect(c.holdersOf(key).sort()).toEqual(c.closest(key, 3).sort());
  });

  it('covers nothing when every holder took the write', async () => {
    const c = await Cluster.create(10);
    const key = keyFor('no cover');
    const writer = c.outsider(key);
    await writer.storage.put(key, bytes('x'));
    await c.settle();
    expect(writer.counters.snapshot()['storage.write.covered']).toBeUndefined();
    expect(c.holdersOf(key).sort()).toEqual(c.closest(key, 3).sort());
  });

  it('fails a write clearly when fewer than W holders answer', async () => {
    const c = await Cluster.create(10, { config: { slack: 0 } });
    const key = keyFor('c');
    const [h0, h1] = c.closest(key, 3);
    c.net.filter = (_from, to) => to !== h0 && to !== h1;
    const writer = c.outsider(key);
    const err = await writer.storage.put(key, bytes('x')).catch((e: unknown) => e);
    expect(isSelfmeshError(err, 'UNREACHABLE')).toBe(true);
  });

  it('repairs a stale replica on read', async () => {
    // No spare covers the holder that missed the write (it would hand the record on first).
    const c = await Cluster.create(10, { config: { coverFailedWrites: false } });
    const key = keyFor('d');
    const writer = c.outsider(key);
    await writer.storage.put(key, bytes('old'));
    await c.settle();
    const [h0] = c.closest(key, 3);
    c.net.filter = (_from, to, method) => !(to === h0 && method === 'storage.put');
    await writer.storage.put(key, bytes('new'));
    await c.settle();
    expect(text((await c.node(h0!).storage.local(key))?.value ?? null)).toBe('old');
    c.net.filter = () => true;
    expect(text(await writer.storage.get(key))).toBe('new');
    await c.settle();
    expect(text((await c.node(h0!).storage.local(key))?.value ?? null)).toBe('new');
    expect(writer.storage.stats().readRepairBytes).toBeGreaterThan(0);
  });

  it('concurrent writers to one key converge on one value everywhere', async () => {
    const c = await Cluster.create(12);
    const key = keyFor('e');
    const writers = [...c.nodes.values()].slice(0, 6);
    const results = await Promise.allSettled(writers.map((w, i) => w.storage.put(key, bytes(`w${i}`))));
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
    await c.settle();
    const values = new Set<string | null>();
    for (const id of c.closest(key, 3)) values.add(text((await c.node(id).storage.local(key))?.value ?? null));
    expect(values.size).toBe(1);
    const seen = new Set<string | null>();
    for (const node of c.nodes.values()) seen.add(text(await node.storage.get(key)));
    expect(seen).toEqual(values);
  });

  it('cas lets exactly one of several racing writers win', async () => {
    const c = await Cluster.create(12);
    const key = keyFor('f');
    const first = await c.any().storage.put(key, bytes('start'));
    const writers = [...c.nodes.values()].slice(0, 8);
    const results = await Promise.all(writers.map((w, i) => w.storage.cas(key, first, bytes(`racer${i}`))));
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    for (const r of results.filter((x) => !x.ok)) expect(r.version).toEqual(winner.version);
    await c.settle();
    expect(text(await c.any().storage.get(key))).toBe(text(winner.value));
    // cas on an absent key: expected null
    const fresh = keyFor('g');
    const outcome = await Promise.all(writers.slice(0, 4).map((w) => w.storage.cas(fresh, null, bytes(w.id))));
    expect(outcome.filter((r) => r.ok)).toHaveLength(1);
  });

  it('delete leaves a tombstone that every replica agrees on; a later put beats it', async () => {
    const c = await Cluster.create(10);
    const key = keyFor('h');
    const node = c.outsider(key);
    await node.storage.put(key, bytes('v'));
    const v = await node.storage.delete(key);
    expect(v.counter).toBe(2);
    expect(await node.storage.get(key)).toBeNull();
    await c.settle();
    for (const id of c.closest(key, 3)) {
      const rec = await c.node(id).storage.local(key);
      expect(rec?.kind).toBe('versioned');
      expect(rec?.value).toBeNull();
    }
    await node.storage.put(key, bytes('back'));
    expect(text(await c.any().storage.get(key))).toBe('back');
  });

  it('stores immutable and signed records', async () => {
    const c = await Cluster.create(10);
    const a = c.any();
    const key = await a.storage.putImmutable(bytes('content'));
    expect(text(await c.outsider(key).storage.get(key))).toBe('content');
    const s1 = await a.storage.putSigned('profile', bytes('v1'));
    expect(s1.seq).toBe(1);
    const s2 = await a.storage.putSigned('profile', bytes('v2'));
    expect(s2).toEqual({ key: s1.key, seq: 2 });
    const got = await c.outsider(s1.key).storage.getSigned(a.identity.publicKey, 'profile');
    expect(got && { seq: got.seq, value: text(got.value) }).toEqual({ seq: 2, value: 'v2' });
    // Replaying an old seq is refused.
    const err = await a.storage.putSigned('profile', bytes('old'), 1).catch((e: unknown) => e);
    expect(isSelfmeshError(err, 'STALE')).toBe(true);
    // An open write cannot take over a signed key.
    const err2 = await a.storage.put(s1.key, bytes('squat')).catch((e: unknown) => e);
    expect(isSelfmeshError(err2, 'CONFLICT')).toBe(true);
  });
});
