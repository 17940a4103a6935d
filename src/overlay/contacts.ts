// Nodes known but not linked: candidates to replace lost links without a lookup. Bounded, oldest out.
import type { Id } from '../core/id.ts';

export class Contacts {
  private known = new Map<Id, number>();

  constructor(
    private readonly self: Id,
    private readonly capacity = 256,
  ) {}

  add(id: Id, now: number): void {
    if (id === this.self) return;
    this.known.delete(id);
    this.known.set(id, now);
    if (this.known.size > this.capacity) this.known.delete(this.known.keys().next().value!);
  }

  addAll(ids: Iterable<Id>, now: number): void {
    for (const id of ids) this.add(id, now);
  }

  remove(id: Id): void {
    this.known.delete(id);
  }

  has(id: Id): boolean {
    return this.known.has(id);
  }

  get size(): number {
    return this.known.size;
  }

  /** Newest first. */
  ids(): Id[] {
    return [...this.known.keys()].reverse();
  }
}
