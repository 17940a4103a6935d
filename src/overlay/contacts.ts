// Nodes known but not linked: candidates to replace lost links without a lookup. Bounded, oldest out.
import type { Id } from '../core/id.ts';

export class Contacts {
  /** id → the linked peer that told us about it (linked to it, so a good first hop to signal it). */
  private known = new Map<Id, Id | undefined>();
  /**
   * Bumped when an id is added that was not known: a scan that found no contact worth a link finds none
   * again until then (a known one told again, or one removed, adds no candidate).
   */
  version = 0;

  constructor(
    private readonly self: Id,
    private readonly capacity = 256,
  ) {}

  add(id: Id, introducer?: Id): void {
    if (id === this.self) return;
    if (!this.known.delete(id)) this.version++;
    this.known.set(id, introducer === id ? undefined : introducer);
    if (this.known.size > this.capacity) this.known.delete(this.known.keys().next().value!);
  }

  addAll(ids: Iterable<Id>, introducer?: Id): void {
    for (const id of ids) this.add(id, introducer);
  }

  introducerOf(id: Id): Id | undefined {
    return this.known.get(id);
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
