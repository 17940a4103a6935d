// Geometry of the topology view: nodes sit on a circle at the angle of their id, so the ring reads
// like the id space itself (neighbours in XOR space are mostly neighbours on the circle).
import type { Id } from '../../core/id.ts';

export interface Point {
  x: number;
  y: number;
}

/** Fraction of a full turn: the id's first 32 bits / 2^32. */
export function idFraction(id: Id): number {
  return parseInt(id.slice(0, 8), 16) / 0x1_0000_0000;
}

/** Position on a circle, starting at 12 o'clock and going clockwise. */
export function ringPoint(id: Id, cx: number, cy: number, r: number): Point {
  const angle = idFraction(id) * 2 * Math.PI - Math.PI / 2;
  return { x: cx + r * Math.cos(angle), y: cy + r * Math.sin(angle) };
}

/**
 * Control point for a link drawn as a curve: pulled toward the centre, more for nodes far apart on
 * the ring, so long links bow inward and short ones hug the rim.
 */
export function chordControl(a: Point, b: Point, cx: number, cy: number): Point {
  const mx = (a.x + b.x) / 2;
  const my = (a.y + b.y) / 2;
  return { x: mx + (cx - mx) * 0.45, y: my + (cy - my) * 0.45 };
}

/** The nearest point within `radius` of (x, y), or null. Linear scan: 1,000 points is microseconds. */
export function hitTest<T extends Point>(points: Iterable<T>, x: number, y: number, radius: number): T | null {
  let best: T | null = null;
  let bestD = radius * radius;
  for (const p of points) {
    const d = (p.x - x) ** 2 + (p.y - y) ** 2;
    if (d <= bestD) {
      best = p;
      bestD = d;
    }
  }
  return best;
}

/** Node dot radius: shrinks as the room grows so 1,000 nodes still read as separate dots. */
export function dotRadius(count: number, ringRadius: number): number {
  const spacing = (2 * Math.PI * ringRadius) / Math.max(1, count);
  return Math.max(1.5, Math.min(5, spacing * 0.3));
}
