import { describe, expect, it } from 'vitest';
import type { Id } from '../../src/core/id.ts';
import { keyFor } from '../../src/storage/records.ts';
import { DEFAULT_POLICY, ReplicationPolicy } from '../../src/storage/replication-policy.ts';
import { Cluster } from './helpers/ideal-overlay.ts';
import { ManualClock } from './helpers/manual-clock.ts';

const text = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : null);

/** A policy watching `links` links, and a way to let departures happen at a given mean session. */
function watched(links = 40) {
  const clock = new ManualClock();
  const policy = new ReplicationPolicy({ ...DEFAULT_POLICY, rMin: 3, rMax: 4 }, clock, () => links);
  /** Departures among the links as sessions of `sessionMs` give them, for `ms`. */
  const churn = (sessionMs: number, ms: number) => {
    const gap = sessionMs / links;
    for (let t = 0; t < ms; t += gap) {
      clock.advance(gap);
      policy.departed();
    }
  };
  const idle = (ms: number) => {
    for (let t = 0; t < ms; t += 5_000) {
      clock.advance(5_000);
      policy.tick();
    }
  };
  return { clock, policy, churn, idle };
}

describe('replication policy (r from observed churn)', () => {
  it('keeps r = 3 without churn and at hour-long sessions', () => {
    const w = watched();
    w.idle(30 * 60_000);
    expect(w.policy.r).toBe(3);
    expect(w.policy.keepsExtras).toBe(false);
    w.churn(3_600_000, 30 * 60_000);
    expect(w.policy.r).toBe(3);
  });

  it('keeps extra copies from the first departure until a whole window saw none', () => {
    const w = watched();
    w.idle(10 * 60_000);
    expect(w.policy.keepsExtras).toBe(false);
    w.policy.departed();
    expect(w.policy.r).toBe(3);
    expect(w.policy.keepsExtras).toBe(true);
    w.idle(DEFAULT_POLICY.slots * DEFAULT_POLICY.slotMs - DEFAULT_POLICY.slotMs);
    expect(w.policy.keepsExtras).toBe(true);
    w.idle(2 * DEFAULT_POLICY.slotMs);
    expect(w.policy.keepsExtras).toBe(false);
  });

  it('raises r within a minute of 2-minute sessions, and at 10-minute sessions', () => {
    const fast = watched();
    fast.idle(10 * 60_000);
    fast.churn(120_000, 60_000);
    expect(fast.policy.r).toBe(4);
    expect(fast.policy.keepsExtras).toBe(true);
    const slow = watched();
    slow.churn(600_000, 5 * 60_000);
    expect(slow.policy.r).toBe(4);
  });

  it('falls back to r = 3 only after churn stayed low for the hold time', () => {
    const w = watched();
    w.churn(120_000, 5 * 60_000);
    expect(w.policy.r).toBe(4);
    // The long window still remembers the churn, then the hold runs: r stays up meanwhile.
    w.idle(DEFAULT_POLICY.holdMs);
    expect(w.policy.r).toBe(4);
    w.idle(DEFAULT_POLICY.slots * DEFAULT_POLICY.slotMs + DEFAULT_POLICY.holdMs);
    expect(w.policy.r).toBe(3);
  });

  it('chooses more replicas for shorter sessions, never outside [rMin, rMax]', () => {
    const clock = new ManualClock();
    const policy = new ReplicationPolicy({ ...DEFAULT_POLICY, rMin: 3, rMax: 8 }, clock, () => 40);
    const bySession = [86_400_000, 3_600_000, 600_000, 120_000, 30_000, 1_000].map((s) => policy.target(1 / s));
    expect(bySession[0]).toBe(3);
    for (let i = 1; i < bySession.length; i++) expect(bySession[i]!).toBeGreaterThanOrEqual(bySession[i - 1]!);
    expect(bySession.at(-1)).toBe(8);
  });

  it('uses the largest r a peer told it lately, and forgets it after a while', () => {
    const w = watched();
    w.policy.hear('a'.repeat(64), 4);
    w.policy.hear('b'.repeat(64), 99);
    expect(w.policy.r).toBe(4);
    expect(w.policy.ownR).toBe(3);
    w.idle(DEFAULT_POLICY.heardMs + 5_000);
    expect(w.policy.r).toBe(3);
  });

  it('is deterministic: the same departures give the same r at every step', () => {
    const run = () => {
      const w = watched(25);
      const seen: number[] = [];
      for (const session of [600_000, 120_000, 3_600_000, 120_000]) {
        w.churn(session, 3 * 60_000);
        seen.push(w.policy.r);
      }
      return seen;
    };
    expect(run()).toEqual(run());
  });
});

/** A cluster that went through churn (kills and joins, 10 s apart), then holds `keys` keys. */
async function churned(config: { rMax: number }): Promise<{ c: Cluster; written: Map<Id, string> }> {
  const c = await Cluster.create(24, { seed: 9, config });
  for (let i = 0; i < 30; i++) {
    const ids = [...c.nodes.keys()];
    c.kill(ids[c.rng.int(ids.length)]!);
    await c.add();
    await c.advance(10_000, 5_000);
  }
  const written = new Map<Id, string>();
  const nodes = [...c.nodes.values()];
  for (let i = 0; i < 40; i++) {
    const key = keyFor(`p${i}`);
    await nodes[i % nodes.length]!.storage.put(key, new TextEncoder().encode(`p${i}`));
    written.set(key, `p${i}`);
  }
  await c.advance(10_000, 5_000);
  return { c, written };
}

describe('replication policy in a cluster', () => {
  it('after churn, a key survives its 3 closest nodes dying at once (lost at a fixed r = 3)', async () => {
    const outcome = async (rMax: number) => {
      const { c, written } = await churned({ rMax });
      const key = [...written.keys()][0]!;
      const r = c.node(c.closest(key, 1)[0]!).storage.replicas;
      for (const id of c.closest(key, 3)) c.kill(id);
      await c.advance(10_000, 5_000);
      let value: string | null = null;
      try {
        value = text(await c.any().storage.get(key));
      } catch {
        value = null;
      }
      return { r, value, expected: written.get(key) };
    };
    const fixed = await outcome(3);
    expect(fixed.r).toBe(3);
    expect(fixed.value).toBeNull();
    const tuned = await outcome(4);
    expect(tuned.r).toBe(4);
    expect(tuned.value).toBe(tuned.expected);
  });
});
