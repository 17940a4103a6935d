// A clock that moves only when a test says so.
import type { Clock, TimerHandle } from '../../../src/core/clock.ts';

export class ManualClock implements Clock {
  private time = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;

  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    this.timers.delete(handle as number);
  }
  /** How many timers set and neither run nor cleared are due at `at`. */
  dueAt(at: number): number {
    let n = 0;
    for (const timer of this.timers.values()) if (timer.at === at) n++;
    return n;
  }
  /** Advances time, running due timers in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }
}
