import { describe, expect, it } from 'vitest';
import type { Id } from '../../src/core/id.ts';
import { PolicyPlacement, type PlacementView } from '../../sim/policy-placement.ts';

// Ids that share their first hex digits with the keys, so the prefix filter keeps them.
const key = 'aa'.padEnd(64, '0');
const other = 'ab'.padEnd(64, '0');
const node = (n: number): Id => `aa${n}`.padEnd(64, '1');
const nodes = [1, 2, 3, 4, 5, 6].map(node);

function room() {
  const r = new Map<Id, number>(nodes.map((id) => [id, 3]));
  const held = new Set<string>();
  const view: PlacementView = {
    r: 3,
    live: () => nodes,
    replicasOf: (id) => r.get(id)!,
    ackedKeys: () => [key, other],
    // Both keys rank the nodes in the order of the list.
    trueHolders: (_key, n) => nodes.slice(0, n),
    targetReplicas: () => r.get(nodes[0]!)!,
    holdsAcked: (k, id) => held.has(`${k}/${id}`),
    byteSizeOf: () => 100,
  };
  return { r, held, count: new PolicyPlacement(view) };
}

describe('PolicyPlacement (the bench ideal for rises of r)', () => {
  it('counts the new ranks that lack a key when a holder raises r, once per level', () => {
    const { r, held, count } = room();
    count.reset();
    // The 4th node already kept a copy of `other`; nobody at rank 4 or 5 has `key`.
    held.add(`${other}/${node(4)}`);
    r.set(node(2), 4);
    count.check();
    expect(count.bytes).toBe(100);
    // Other holders follow to the same r: already counted.
    r.set(node(1), 4);
    r.set(node(3), 4);
    count.check();
    expect(count.bytes).toBe(100);
    // A rise to 5 asks for the 5th rank of both keys.
    r.set(node(1), 5);
    count.check();
    expect(count.bytes).toBe(300);
  });

  it('ignores a node beyond the holders, and starts from the r a key had at reset', () => {
    const { r, count } = room();
    r.set(node(1), 4);
    count.reset();
    r.set(node(6), 5);
    count.check();
    expect(count.bytes).toBe(0);
    r.set(node(2), 4);
    count.check();
    expect(count.bytes).toBe(0);
  });
});
