// After a crash, every key is back to r replicas within twice the failure-detection time: silent crashes
// (nothing tells the neighbours; the failure detector must notice) and crashes whose links close.
import { describe, expect, it } from 'vitest';
import { DETECTION_MS, loadKeys, makeKeys, storageRoom } from '../../sim/storage-scenarios.ts';

describe('storage repair after a crash', () => {
  it('restores r replicas of every key within twice the failure-detection time', async () => {
    const sw = await storageRoom({ n: 200, seed: 12 });
    const keys = makeKeys(sw, 2_000);
    expect(await loadKeys(sw, keys, 250)).toBe(keys.length);
    expect(await sw.sim.runUntil(() => sw.underReplicated().length === 0, 60_000)).toBe(true);
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const victim = sw.world.randomJoined()!;
      const crashed = await sw.depart(victim.id, i % 3 === 2 ? 'close' : 'crash');
      expect(crashed.lostKeys).toBe(0);
      const t0 = sw.sim.now();
      const repaired = await sw.sim.runUntil(() => sw.underReplicated().length === 0, 2 * DETECTION_MS, 500);
      expect(repaired, `crash ${i} of ${victim.id.slice(0, 8)}: ${sw.underReplicated().length} keys below r`).toBe(true);
      times.push(sw.sim.now() - t0);
      // Let the room settle before the next crash (maintenance, handoff confirmations).
      await sw.sim.runFor(60_000);
    }
    expect(Math.max(...times)).toBeLessThanOrEqual(2 * DETECTION_MS);
    expect(sw.sim.errors).toEqual([]);
    sw.close();
  });
});
