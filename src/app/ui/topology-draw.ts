// Canvas drawing of the ring. Pure function of a scene, so the component only decides when to draw.
import type { Id } from '../../core/id.ts';
import type { Highlight } from './highlight.ts';
import { HOP_MS } from './highlight.ts';
import { chordControl, dotRadius, idFraction, type Point } from './ring-layout.ts';
import type { KnownNode } from './topology-crawler.ts';

export interface Palette {
  fg: string;
  muted: string;
  accent: string;
  edge: string;
  key: string;
  ok: string;
  surface: string;
  border: string;
}

export interface Scene {
  width: number;
  height: number;
  nodes: KnownNode[];
  edges: Array<[Id, Id]>;
  selfId: Id;
  hover: Id | null;
  highlight: Highlight | null;
  now: number;
  /** Fill colour per node (the version of the room's chat it runs), when known. */
  colors?: Map<Id, string>;
}

/** A colour per major version, the same in every tab: nodes on the same version look the same. */
export const VERSION_COLORS = ['#1c7ed6', '#e8590c', '#2f9e44', '#ae3ec9', '#c2255c', '#0c8599'];
export function versionColor(version: string): string {
  const major = Number.parseInt(version, 10);
  return VERSION_COLORS[(Number.isFinite(major) ? Math.abs(major) : 0) % VERSION_COLORS.length]!;
}

export interface Placed extends Point {
  id: Id;
}

/** Rooms up to this size get short-id labels around the ring. */
export const LABEL_MAX = 32;

export function geometry(width: number, height: number, count: number): { cx: number; cy: number; r: number } {
  // Room outside the ring for the key marker, and for the labels when there are any.
  const labels = count <= LABEL_MAX ? 64 : 26;
  return { cx: width / 2, cy: height / 2, r: Math.max(20, Math.min(width, height) / 2 - labels) };
}

export function place(nodes: KnownNode[], width: number, height: number): Map<Id, Placed> {
  const { cx, cy, r } = geometry(width, height, nodes.length);
  const out = new Map<Id, Placed>();
  for (const n of nodes) {
    const a = idFraction(n.id) * 2 * Math.PI - Math.PI / 2;
    out.set(n.id, { id: n.id, x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) });
  }
  return out;
}

function curve(ctx: CanvasRenderingContext2D, a: Point, b: Point, cx: number, cy: number, straight: boolean) {
  ctx.moveTo(a.x, a.y);
  if (straight) return ctx.lineTo(b.x, b.y);
  const c = chordControl(a, b, cx, cy);
  ctx.quadraticCurveTo(c.x, c.y, b.x, b.y);
}

/**
 * The slow part, redrawn only when the room changed: ring, every link, every node, labels.
 * The component keeps it in an offscreen canvas and blits it under each frame.
 */
export function drawBase(ctx: CanvasRenderingContext2D, s: Scene, pos: Map<Id, Placed>, p: Palette): void {
  const { cx, cy, r } = geometry(s.width, s.height, s.nodes.length);
  const n = s.nodes.length;
  const dot = dotRadius(n, r);
  const straight = s.edges.length > 3000; // curves cost more; at that density nobody sees the bow
  ctx.clearRect(0, 0, s.width, s.height);

  ctx.strokeStyle = p.border;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.arc(cx, cy, r, 0, 2 * Math.PI);
  ctx.stroke();

  // All links in one path: one stroke call whatever the room size. Fainter as links multiply, so a
  // 1,000-node room reads as a texture and the highlights on top stay visible.
  ctx.globalAlpha = Math.max(0.025, Math.min(0.4, 0.4 * (600 / Math.max(1, s.edges.length)) ** 0.75));
  ctx.strokeStyle = p.edge;
  ctx.beginPath();
  for (const [a, b] of s.edges) {
    const pa = pos.get(a);
    const pb = pos.get(b);
    if (pa && pb) curve(ctx, pa, pb, cx, cy, straight);
  }
  ctx.stroke();
  ctx.globalAlpha = 1;

  for (const node of s.nodes) drawDot(ctx, node, pos.get(node.id)!, dot, p, s.colors?.get(node.id));
  if (n <= LABEL_MAX) drawLabels(ctx, s, pos, cx, cy, dot, p);
}

function drawDot(ctx: CanvasRenderingContext2D, node: KnownNode, at: Point, dot: number, p: Palette, color?: string) {
  ctx.beginPath();
  ctx.arc(at.x, at.y, dot, 0, 2 * Math.PI);
  if (node.inspectedAt === null && !node.self) {
    // Heard of, not yet confirmed by its own answer: hollow.
    ctx.strokeStyle = p.muted;
    ctx.lineWidth = 1;
    ctx.stroke();
  } else {
    ctx.fillStyle = color ?? (node.self ? p.accent : p.fg);
    ctx.fill();
  }
}

/** The cheap part, every frame: this node's and the hovered node's links, the key, the route. */
export function drawOverlay(ctx: CanvasRenderingContext2D, s: Scene, pos: Map<Id, Placed>, p: Palette): boolean {
  const { cx, cy, r } = geometry(s.width, s.height, s.nodes.length);
  const dot = dotRadius(s.nodes.length, r);
  const byId = new Map(s.nodes.map((n) => [n.id, n]));
  const focusLinks = (id: Id, color: string) => {
    const ends: Id[] = [id];
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.globalAlpha = 0.75;
    ctx.beginPath();
    for (const [a, b] of s.edges) {
      if (a !== id && b !== id) continue;
      curve(ctx, pos.get(a)!, pos.get(b)!, cx, cy, false);
      ends.push(a === id ? b : a);
    }
    ctx.stroke();
    ctx.globalAlpha = 1;
    // Lines end at dot centres: put the dots back on top.
    for (const e of ends) {
      const node = byId.get(e);
      if (node) drawDot(ctx, node, pos.get(e)!, dot, p, s.colors?.get(e));
    }
  };
  focusLinks(s.selfId, p.accent);
  if (s.hover && s.hover !== s.selfId) focusLinks(s.hover, p.fg);

  const h = s.highlight;
  const animating = h ? drawRoute(ctx, h, pos, p, s.now) : false;

  const ring = (id: Id | null | undefined, color: string, extra: number, width = 2) => {
    const at = id ? pos.get(id) : undefined;
    if (!at) return;
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.arc(at.x, at.y, dot + extra, 0, 2 * Math.PI);
    ctx.stroke();
  };
  ring(s.selfId, p.accent, 4);
  if (h) {
    for (const id of h.replicas) ring(id, p.ok, 4.5, 2.5);
    ring(h.responsible, p.key, 8, 2);
    drawKeyMarker(ctx, h, cx, cy, r, p);
  }
  ring(s.hover, p.fg, 3, 1.5);
  return animating;
}

function drawKeyMarker(ctx: CanvasRenderingContext2D, h: Highlight, cx: number, cy: number, r: number, p: Palette) {
  const a = idFraction(h.keyId) * 2 * Math.PI - Math.PI / 2;
  const x = cx + (r + 16) * Math.cos(a);
  const y = cy + (r + 16) * Math.sin(a);
  ctx.fillStyle = p.key;
  ctx.beginPath();
  ctx.moveTo(x, y - 6);
  ctx.lineTo(x + 6, y);
  ctx.lineTo(x, y + 6);
  ctx.lineTo(x - 6, y);
  ctx.closePath();
  ctx.fill();
}

function drawRoute(ctx: CanvasRenderingContext2D, h: Highlight, pos: Map<Id, Placed>, p: Palette, now: number): boolean {
  if (h.path.length < 2) return false;
  const hops = h.path.length - 1;
  const progress = h.animateFrom === null ? hops : Math.min(hops, (now - h.animateFrom) / HOP_MS);
  ctx.strokeStyle = p.key;
  ctx.lineWidth = 3;
  ctx.lineCap = 'round';
  for (let i = 0; i < hops && i < progress; i++) {
    const a = pos.get(h.path[i]!);
    const b = pos.get(h.path[i + 1]!);
    if (!a || !b) continue;
    const t = Math.min(1, progress - i);
    // Hops as straight segments: a route reads better as a chain than as bows.
    const x = a.x + (b.x - a.x) * t;
    const y = a.y + (b.y - a.y) * t;
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(x, y);
    ctx.stroke();
    if (t < 1) {
      ctx.fillStyle = p.key;
      ctx.beginPath();
      ctx.arc(x, y, 5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  ctx.lineCap = 'butt';
  return progress < hops;
}

function drawLabels(
  ctx: CanvasRenderingContext2D, s: Scene, pos: Map<Id, Placed>, cx: number, cy: number, dot: number, p: Palette,
) {
  ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
  ctx.textBaseline = 'middle';
  // Nodes close on the ring would print on top of each other: a label that would touch one already
  // drawn is skipped (this tab's always wins; the tooltip still names every node).
  const drawn: Point[] = [];
  const ordered = [...s.nodes].sort((a, b) => Number(b.self) - Number(a.self));
  for (const node of ordered) {
    const at = pos.get(node.id)!;
    const dx = at.x - cx;
    const dy = at.y - cy;
    const len = Math.hypot(dx, dy) || 1;
    const x = at.x + (dx / len) * (dot + 10);
    const y = at.y + (dy / len) * (dot + 10);
    if (drawn.some((d) => Math.abs(d.x - x) < 52 && Math.abs(d.y - y) < 13)) continue;
    drawn.push({ x, y });
    ctx.textAlign = Math.abs(dx) < 8 ? 'center' : dx > 0 ? 'left' : 'right';
    ctx.fillStyle = node.self ? p.accent : p.muted;
    ctx.fillText(node.self ? 'this tab' : node.id.slice(0, 6), x, y);
  }
}
