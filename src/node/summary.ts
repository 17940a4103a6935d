// What a node tells others about itself when asked through the overlay: its links, how many records
// it holds, and its load. The topology view learns the room from these, a few nodes at a time.
import * as v from 'valibot';
import { SelfmeshError } from '../core/errors.ts';
import { isId, type Id } from '../core/id.ts';
import type { SelfmeshNode } from '../node.ts';

export const NODE_SUMMARY = 'node.summary';

const Count = v.pipe(v.number(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
/**
 * An answer as another node may send it: the views render it and crawl the ids in it, so it is checked
 * and bounded first (a node holds at most a few hundred links, and runs a few components).
 */
const NodeSummarySchema = v.object({
  id: v.custom<Id>(isId),
  links: v.pipe(v.array(v.custom<Id>(isId)), v.maxLength(512)),
  records: Count,
  recordBytes: Count,
  load: Count,
  uptimeMs: Count,
  components: v.pipe(
    v.array(v.object({ name: v.pipe(v.string(), v.maxLength(64)), version: v.pipe(v.string(), v.maxLength(64)) })),
    v.maxLength(64),
  ),
});

export interface NodeSummary {
  id: Id;
  links: Id[];
  records: number;
  recordBytes: number;
  /** Messages per second in and out over the last measurement window. */
  load: number;
  uptimeMs: number;
  components: Array<{ name: string; version: string }>;
}

export class NodeSummaryService {
  /** Components report themselves here once the component runtime is attached. */
  components: () => Array<{ name: string; version: string }> = () => [];
  private sample = { at: 0, messages: 0, rate: 0 };

  constructor(private readonly node: SelfmeshNode) {
    node.methods.register(NODE_SUMMARY, v.object({}), () => this.local());
  }

  local(): NodeSummary {
    const stats = this.node.storage.stats();
    return {
      id: this.node.id,
      links: this.node.overlay.links().map((l) => l.id),
      records: stats.records,
      recordBytes: stats.bytes,
      load: this.load(),
      uptimeMs: this.node.parts.clock.now() - this.node.startedAt,
      components: this.components(),
    };
  }

  /** Messages per second in and out, over the time since the previous sample (at least 1 s apart). */
  load(): number {
    const now = this.node.parts.clock.now();
    const t = this.node.traffic;
    const messages = t.messagesIn + t.messagesOut;
    if (now - this.sample.at >= 1_000) {
      const rate = this.sample.at === 0 ? 0 : ((messages - this.sample.messages) * 1000) / (now - this.sample.at);
      this.sample = { at: now, messages, rate: Math.round(rate * 10) / 10 };
    }
    return this.sample.rate;
  }

  async ask(node: Id): Promise<NodeSummary> {
    if (node === this.node.id) return this.local();
    const reply = await this.node.calls.call(node, NODE_SUMMARY, {}, { timeoutMs: 5_000 });
    const parsed = v.safeParse(NodeSummarySchema, reply);
    if (!parsed.success) {
      this.node.counters.inc('node.summary.bad');
      throw new SelfmeshError('BAD_MESSAGE', `node ${node.slice(0, 8)} sent a malformed summary: ${parsed.issues[0].message}`);
    }
    return parsed.output;
  }
}
