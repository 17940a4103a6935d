// What the view is asked to point out: a key's position, the node responsible for it, its replicas,
// and optionally the real route a lookup took, animated hop by hop.
import type { Id } from '../../core/id.ts';

export interface Highlight {
  /** The key as typed, for labels. */
  label: string;
  keyId: Id;
  responsible: Id | null;
  replicas: Id[];
  /** The lookup's route from this node, both ends included; empty when not asked. */
  path: Id[];
  /** performance.now() when the animation started; null for a static path. */
  animateFrom: number | null;
}

export const HOP_MS = 450;
