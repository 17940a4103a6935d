// A node's summary comes from another node, which may be broken or hostile: the views render it and
// crawl the ids in it, so a malformed one is refused with a clear error and counted, never passed on.
import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/core/counters.ts';
import { hashId } from '../../src/core/id.ts';
import type { SelfmeshNode } from '../../src/node.ts';
import { NodeSummaryService, type NodeSummary } from '../../src/node/summary.ts';
import { MethodTable } from '../../src/transport/methods.ts';

const self = hashId('self');
const other = hashId('other');

function askWith(reply: unknown) {
  const counters = new Counters();
  const node = { id: self, methods: new MethodTable(), counters, calls: { call: async () => reply } } as unknown as SelfmeshNode;
  return { ask: () => new NodeSummaryService(node).ask(other), counters };
}

const good: NodeSummary = {
  id: other, links: [self, hashId('third')], records: 3, recordBytes: 120, load: 2.5, uptimeMs: 9_000,
  components: [{ name: 'chat', version: '1.0.0' }],
};

describe('node summary', () => {
  it('passes a well-formed answer on as it came', async () => {
    await expect(askWith(good).ask()).resolves.toEqual(good);
  });

  it('refuses malformed answers with BAD_MESSAGE and counts them', async () => {
    const bad: unknown[] = [
      null,
      'x',
      { ...good, links: 'not a list' },
      { ...good, links: ['<img src=x onerror=alert(1)>'] },
      { ...good, links: Array.from({ length: 513 }, (_, i) => hashId(`n${i}`)) },
      { ...good, records: -1 },
      { ...good, load: Number.NaN },
      { ...good, components: [{ name: 'chat' }] },
      { ...good, components: [{ name: 'x'.repeat(65), version: '1' }] },
      { ...good, id: 'nobody' },
    ];
    for (const reply of bad) {
      const { ask, counters } = askWith(reply);
      await expect(ask(), JSON.stringify(reply)?.slice(0, 60)).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
      expect(counters.get('node.summary.bad')).toBe(1);
    }
  });
});
