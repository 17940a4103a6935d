import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import type { Id } from '../../src/core/id.ts';
import { ComponentRuntime } from '../../src/components/runtime.ts';
import { rollout, type SwapRequester } from '../../src/manage/rollout.ts';
import { counterDef } from './helpers/components.ts';

const ids = ['1', '2', '3', '4', '5', '6', '7', '8'].map((c) => c.repeat(64));

/** Runtimes whose "registry" is a table of definitions by version (the swap path is the real one). */
function room(broken?: Id) {
  const nodes = new Map(ids.map((id) => [id, new ComponentRuntime({ node: id, clock: systemClock() })]));
  const send: SwapRequester = async (node, req) => {
    const rt = nodes.get(node)!;
    const def = counterDef(
      req.version!,
      req.version === '2.0.0' && node === broken ? { unhealthy: true } : {},
    );
    return rt.swap(req.component, def);
  };
  return { nodes, send };
}

describe('room-wide rollout', () => {
  it('swaps every node, canaries first', async () => {
    const { nodes, send } = room();
    for (const rt of nodes.values()) {
      rt.install(counterDef('1.0.0'));
      await rt.start('counter');
    }
    const result = await rollout(
      ids,
      { component: 'counter', version: '2.0.0', canaryShare: 0.25, batch: 3 },
      send,
    );
    expect(result.ok).toBe(true);
    expect(result.outcomes.map((o) => o.status)).toEqual(ids.map(() => 'swapped'));
    expect([...nodes.values()].map((rt) => rt.get('counter')!.version)).toEqual(ids.map(() => '2.0.0'));
  });

  it('stops at a failing node and rolls back the nodes already swapped', async () => {
    const { nodes, send } = room(ids[4]);
    for (const rt of nodes.values()) {
      rt.install(counterDef('1.0.0'));
      await rt.start('counter');
    }
    const result = await rollout(
      ids,
      { component: 'counter', version: '2.0.0', canaryShare: 0.25, batch: 3, rollbackTo: '1.0.0' },
      send,
    );
    expect(result.ok).toBe(false);
    const failed = result.outcomes.find((o) => o.status === 'failed')!;
    expect(failed.node).toBe(ids[4]);
    expect(failed.error).toMatch(/health/);
    // Canaries (2) and the batch with the failing node (3) were tried; the last batch never was.
    expect(result.outcomes).toHaveLength(5);
    expect(result.rolledBack.map((o) => o.status)).toEqual(['swapped', 'swapped', 'swapped', 'swapped']);
    expect([...nodes.values()].map((rt) => rt.get('counter')!.version)).toEqual(ids.map(() => '1.0.0'));
  });
});
