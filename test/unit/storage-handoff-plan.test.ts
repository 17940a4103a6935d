import { describe, expect, it } from 'vitest';
import type { Id } from '../../src/core/id.ts';
import { Handoff } from '../../src/storage/handoff.ts';
import { Placement } from '../../src/storage/placement.ts';
import type { Mover } from '../../src/storage/repair.ts';
import type { StorageContext } from '../../src/storage/context.ts';
import { Tasks } from '../../src/storage/context.ts';
import { ManualClock } from './helpers/manual-clock.ts';

const id = (lead: string) => lead.padEnd(64, '0');
const key = id('00');

/**
 * One node with one record (by default a copy it keeps beyond the r holders, rank 3 of r = 3, while the
 * policy keeps extras); the test sets whom it knows and records what its handoff offers to whom.
 */
function keeper(self = id('08'), r = 3) {
  let known: Id[] = [];
  /** What the handoff last asked the overlay to watch. */
  let watched: Id[] = [];
  const port = {
    selfId: self, neighbors: () => known, contacts: () => [], methods: undefined, on: () => () => undefined,
    watch: (ids: Iterable<Id>) => void (watched = [...ids].sort()),
  };
  const clock = new ManualClock();
  const placement = new Placement(port as never, () => r, 2, () => clock.now());
  const offered: Array<[Id, string]> = [];
  const mover = {
    moveAll: async (byTarget: Map<Id, Id[]>, reason: string) => {
      for (const [t] of byTarget) offered.push([t, reason]);
      return new Map([...byTarget].map(([t, keys]) => [t, new Set(keys)]));
    },
  } as unknown as Mover;
  const replica = {
    keys: () => [key],
    has: (k: Id) => k === key,
    stamp: (k: Id) => (k === key ? [1, 1, self, 'd'.repeat(16)] : undefined),
    drop: async () => true,
  };
  const tasks = new Tasks();
  const ctx = {
    selfId: self, port, placement, replica, clock, tasks,
    policy: { keepsExtras: true },
    config: { backupOfferMs: 2_000 },
    meters: { dropped: 0 },
    events: { emit: () => undefined },
  } as unknown as StorageContext;
  const handoff = new Handoff(ctx, mover);
  const pass = async (nodes: Id[]) => {
    known = nodes;
    offered.length = 0;
    handoff.schedule();
    await tasks.idle();
    clock.advance(4_000);
    await tasks.idle();
    return offered.map(([t, reason]) => `${t.slice(0, 2)} ${reason}`).sort();
  };
  return { pass, watched: () => watched.map((w) => w.slice(0, 2)) };
}

describe('handoff plans: whom a node offers its keys to', () => {
  it('offers the key to new holders whenever they change, not only the first time', async () => {
    const k = keeper();
    // The first holders are asked once (the kept copy may be a write they lack).
    expect(await k.pass([id('01'), id('02'), id('03')])).toEqual(['01 handoff', '02 handoff', '03 handoff']);
    // The same holders: nothing to ask.
    expect(await k.pass([id('01'), id('02'), id('03')])).toEqual([]);
    // Those holders are gone and three others came, all closer than this node: nobody else may have
    // the key any more, so the kept copy is offered to each new holder, after the holders had their
    // turn, as an offer only a node that is a holder in its own view takes.
    expect(await k.pass([id('04'), id('05'), id('06')])).toEqual(['04 kept', '05 kept', '06 kept']);
    // One new holder among old ones: only it is asked.
    expect(await k.pass([id('04'), id('05'), id('07')])).toEqual(['07 kept']);
  });

  it('asks the overlay to watch the holders of the keys it holds, and follows them as they change', async () => {
    const k = keeper();
    await k.pass([id('01'), id('02'), id('03'), id('40')]);
    // The three holders of its one key; not 40, which holds nothing this node has.
    expect(k.watched()).toEqual(['01', '02', '03']);
    await k.pass([id('01'), id('04'), id('05'), id('40')]);
    expect(k.watched()).toEqual(['01', '04', '05']);
  });

  it('offers a key to a joiner once the holders that were to offer it are found dead', async () => {
    // This node holds the key at r = 4, third in line among the holders.
    const k = keeper(id('06'), 4);
    await k.pass([id('02'), id('03'), id('07')]);
    // A joiner comes closest: 02 and 03 are ahead of this node to offer it the key.
    expect(await k.pass([id('01'), id('02'), id('03'), id('07')])).toEqual([]);
    // But both had crashed silently; when they are found dead, this node is first in line.
    expect(await k.pass([id('01'), id('07'), id('09')])).toContain('01 handoff');
  });
});
