import { describe, expect, it } from 'vitest';
import { commonPrefixLength, compareDistance, sortByDistance, type Id } from '../../src/core/id.ts';
import { seededRng } from '../../src/core/rng.ts';
import { bitsAt, placementOf, randomIdInSlot } from '../../src/overlay/bucket.ts';
import { DEFAULT_OVERLAY_CONFIG } from '../../src/overlay/config.ts';
import { RoutingTable, type Peer } from '../../src/overlay/routing-table.ts';

const rng = seededRng(11);
const randomId = (): Id => Array.from(rng.bytes(32), (b) => b.toString(16).padStart(2, '0')).join('');

function fakePeer(table: RoutingTable, id: Id, linkedAt = 0): Peer {
  const p = table.placement(id);
  return {
    id, bucket: p.bucket, slot: p.slot, linkedAt, lastHeard: 0, lastPingAt: 0, missedPings: 0, pingInFlight: false,
    suspected: false, theyNeed: true, toldNeed: undefined,
    link: { isOpen: true } as Peer['link'], rpc: {} as Peer['rpc'],
  };
}

describe('bucket placement', () => {
  it('puts an id in the slot it was generated for', () => {
    const self = randomId();
    for (let bucket = 0; bucket < 12; bucket++) {
      for (let slot = 0; slot < 4; slot++) {
        const id = randomIdInSlot(self, bucket, slot, 2, (n) => rng.bytes(n));
        expect(commonPrefixLength(self, id)).toBe(bucket);
        expect(placementOf(self, id, () => 2)).toEqual({ bucket, slot });
        expect(bitsAt(id, bucket + 1, 2)).toBe(slot);
      }
    }
  });
});

describe('routing table', () => {
  it('keeps the closest nodes as neighbours and only hops strictly closer', () => {
    const self = randomId();
    const table = new RoutingTable(self, DEFAULT_OVERLAY_CONFIG);
    const ids = Array.from({ length: 40 }, randomId);
    for (const id of ids) table.add(fakePeer(table, id));
    expect(table.neighbours()).toEqual(sortByDistance(self, ids).slice(0, DEFAULT_OVERLAY_CONFIG.neighbourhoodSize));
    for (let i = 0; i < 200; i++) {
      const key = randomId();
      const hops = table.nextHops(key, 3);
      for (const h of hops) expect(compareDistance(key, h.id, self)).toBeLessThan(0);
      const best = sortByDistance(key, [self, ...ids])[0];
      expect(hops[0]?.id ?? self).toBe(best);
    }
  });

  it('finds the same next hops as a scan of every link, for keys far from and near to this node', () => {
    const self = randomId();
    const table = new RoutingTable(self, DEFAULT_OVERLAY_CONFIG);
    // Far links and a dense neighbourhood, as a node of a large overlay has; keys near this node fall in
    // buckets its links leave empty, where the closer peers sit in deeper buckets.
    const ids = [
      ...Array.from({ length: 30 }, randomId),
      ...Array.from({ length: 20 }, (_, i) => randomIdInSlot(self, 8 + (i % 10), i % 2, 1, (n) => rng.bytes(n))),
    ];
    for (const id of ids) table.add(fakePeer(table, id));
    const scan = (key: Id, max: number) =>
      sortByDistance(key, [...table.peers.keys()].filter((id) => compareDistance(key, id, self) < 0)).slice(0, max);
    const keys = [...Array.from({ length: 300 }, randomId), ...Array.from({ length: 300 }, (_, i) => randomIdInSlot(self, i % 24, 0, 0, (n) => rng.bytes(n)))];
    for (const [round, key] of keys.entries()) {
      // Links come and go between lookups: the index follows the table.
      if (round % 50 === 49) table.remove([...table.peers.keys()][round % table.size]!);
      for (const max of [1, 3]) expect(table.nextHops(key, max).map((p) => p.id)).toEqual(scan(key, max));
    }
    expect(table.nextHops(self, 3)).toEqual([]);
  });

  it('wants the first link of a slot and a closer neighbour, not a second link in a covered slot', () => {
    const self = randomId();
    const table = new RoutingTable(self, DEFAULT_OVERLAY_CONFIG);
    const bits = DEFAULT_OVERLAY_CONFIG.slotBits(0);
    const first = randomIdInSlot(self, 0, 1, bits, (n) => rng.bytes(n));
    const second = randomIdInSlot(self, 0, 1, bits, (n) => rng.bytes(n));
    // Fill the neighbourhood with close nodes so that far ones only count for their slot.
    for (let i = 0; i < 10; i++) table.add(fakePeer(table, randomIdInSlot(self, 20 + i, 0, 0, (n) => rng.bytes(n))));
    expect(table.wants(first)).toBe(true);
    table.add(fakePeer(table, first, 1));
    expect(table.wants(second)).toBe(false);
    table.add(fakePeer(table, second, 2));
    expect(table.isRedundant(second)).toBe(true);
    expect(table.isRedundant(first)).toBe(false);
    expect(table.wants(randomIdInSlot(self, 40, 0, 0, (n) => rng.bytes(n)))).toBe(true);
    table.remove(first);
    expect(table.isRedundant(second)).toBe(false);
  });
});
