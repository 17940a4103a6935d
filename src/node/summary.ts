// What a node tells others about itself when asked through the overlay: its links, how many records
// it holds, and its load. The topology view learns the room from these, a few nodes at a time.
import * as v from 'valibot';
import type { Id } from '../core/id.ts';
import type { SelfmeshNode } from '../node.ts';

export const NODE_SUMMARY = 'node.summary';

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
    return (await this.node.calls.call(node, NODE_SUMMARY, {}, { timeoutMs: 5_000 })) as NodeSummary;
  }
}
