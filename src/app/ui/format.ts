// Small, honest formatting helpers shared by the panels.
import type { Id } from '../../core/id.ts';

export function short(id: Id): string {
  return id.slice(0, 8);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function clockTime(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour12: false });
}

export function rate(n: number): string {
  return n < 10 ? n.toFixed(1) : Math.round(n).toString();
}
