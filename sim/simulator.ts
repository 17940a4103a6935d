// The discrete-event core: a virtual clock over a binary heap of timers. Time moves only when the
// simulator runs; callbacks at the same millisecond run in scheduling order, and promise continuations
// they start are drained before time moves on, so a run is a pure function of its seed.
import type { Clock, TimerHandle } from '../src/core/clock.ts';

interface Timer {
  at: number;
  seq: number;
  fn: (() => void) | null;
}

/** Resolves after every queued microtask (and every microtask those queue) has run. */
/** A macrotask: Node's setImmediate, or a MessageChannel post in a browser worker (no 4 ms clamp). */
const macrotask: (fn: () => void) => void =
  typeof setImmediate === 'function'
    ? (fn) => setImmediate(fn)
    : (() => {
        const channel = new MessageChannel();
        const queue: Array<() => void> = [];
        channel.port1.onmessage = () => queue.shift()?.();
        return (fn: () => void) => {
          queue.push(fn);
          channel.port2.postMessage(null);
        };
      })();
const drainMicrotasks = () => new Promise<void>((resolve) => macrotask(resolve));

/**
 * Timers within this many ms of now sit in a wheel of one slot per millisecond (O(1) to add and to run);
 * later ones wait in a heap and move into the wheel as time comes near them. At 10,000 nodes millions of
 * timers are pending (frames in flight, request timeouts), and a heap of them cost a dozen cache misses
 * per timer.
 */
const WHEEL_MS = 1 << 16;
const WHEEL_MASK = WHEEL_MS - 1;

export class Simulator implements Clock {
  /** Slot `at & WHEEL_MASK` holds the timers due at `at`, for `at` in [time, time + WHEEL_MS), in seq order. */
  private wheel: Array<Timer[] | undefined> = new Array(WHEEL_MS);
  /** Timers in the wheel, cleared ones included (they are dropped when their slot comes). */
  private inWheel = 0;
  /** Timers due at or after time + WHEEL_MS, as a heap on (at, seq). */
  private heap: Timer[] = [];
  private time = 0;
  private seq = 0;
  /** Timers set and neither run nor cleared yet. */
  private live = 0;
  /** Cleared timers still in the heap (deleted lazily); compacted away when they are most of it. */
  private cancelled = 0;
  /** Callbacks run so far (a cheap measure of simulation work). */
  eventsRun = 0;
  /** Exceptions thrown by callbacks: a correct node never throws into the event loop. */
  errors: unknown[] = [];

  constructor(startTime = 0) {
    this.time = startTime;
  }

  now(): number {
    return this.time;
  }

  /** Times are whole milliseconds so that many events share a tick and one drain serves them all. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.time + Math.max(0, Math.ceil(ms)), seq: this.seq++, fn };
    this.live++;
    if (timer.at - this.time < WHEEL_MS) this.toWheel(timer);
    else this.push(timer);
    return timer as unknown as TimerHandle;
  }

  /** Lazy deletion: the timer stays where it is with no callback. */
  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle || typeof handle !== 'object') return;
    const timer = handle as unknown as Timer;
    if (timer.fn === null) return;
    timer.fn = null;
    this.live--;
    if (timer.at - this.time < WHEEL_MS) return;
    // A cleared timer far ahead would stay in the heap until its time came: compact them away.
    if (++this.cancelled > 1024 && this.cancelled > this.heap.length / 2) this.compact();
  }

  private toWheel(timer: Timer): void {
    const i = timer.at & WHEEL_MASK;
    const slot = this.wheel[i];
    if (slot) slot.push(timer);
    else this.wheel[i] = [timer];
    this.inWheel++;
  }

  /**
   * Moves the heap's timers that came within the wheel's span into it, in (at, seq) order. Called
   * whenever time moves, before anything runs at the new time, so a slot receives the timers moved
   * from the heap before any set directly (which were set later, so have larger seq).
   */
  private advance(to: number): void {
    this.time = to;
    const heap = this.heap;
    while (heap.length > 0 && heap[0]!.at - to < WHEEL_MS) {
      const timer = this.pop();
      if (timer.fn === null) this.cancelled--;
      else this.toWheel(timer);
    }
  }

  /** Drops cleared timers and rebuilds the heap; (at, seq) is a total order, so runs do not change. */
  private compact(): void {
    const live = this.heap.filter((t) => t.fn !== null);
    this.heap = live;
    this.cancelled = 0;
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** Timers set and still to run. */
  get pending(): number {
    return this.live;
  }

  /** The time of the next slot (or heap timer) at or before `end` with timers in it, or -1. */
  private next(end: number): number {
    if (this.inWheel > 0) {
      const last = Math.min(end, this.time + WHEEL_MS - 1);
      for (let at = this.time; at <= last; at++) if (this.wheel[at & WHEEL_MASK]) return at;
      return -1;
    }
    const head = this.heap[0];
    return head && head.at <= end ? head.at : -1;
  }

  /** Runs every event up to and including `end`, then sets the clock to `end`. */
  async runUntilTime(end: number): Promise<void> {
    await drainMicrotasks();
    for (let tick = this.next(end); tick >= 0; tick = this.next(end)) {
      if (tick !== this.time) this.advance(tick);
      const i = tick & WHEEL_MASK;
      const slot = this.wheel[i]!;
      // Timers set for this same tick while it runs are appended to the slot and run in this pass.
      for (let k = 0; k < slot.length; k++) {
        const timer = slot[k]!;
        const fn = timer.fn;
        if (!fn) continue;
        timer.fn = null;
        this.live--;
        this.eventsRun++;
        try {
          fn();
        } catch (e) {
          this.errors.push(e);
        }
      }
      this.inWheel -= slot.length;
      this.wheel[i] = undefined;
      await drainMicrotasks();
    }
    if (end > this.time) this.advance(end);
  }

  runFor(ms: number): Promise<void> {
    return this.runUntilTime(this.time + ms);
  }

  /**
   * Advances time in steps of `stepMs` until `condition` holds, at most `maxMs`. Returns whether it held.
   * This is how tests wait: on virtual time with a bound, never on a fixed sleep.
   */
  async runUntil(condition: () => boolean, maxMs: number, stepMs = 1000): Promise<boolean> {
    const end = this.time + maxMs;
    await drainMicrotasks();
    while (!condition()) {
      if (this.time >= end) return false;
      await this.runUntilTime(Math.min(end, this.time + stepMs));
    }
    return true;
  }

  /** Waits (in virtual time) for a promise started inside the simulation, at most maxMs. */
  async settle<T>(promise: Promise<T>, maxMs: number, stepMs = 50): Promise<T> {
    let done = false;
    const tracked = promise.finally(() => {
      done = true;
    });
    tracked.catch(() => undefined);
    await this.runUntil(() => done, maxMs, stepMs);
    if (!done) throw new Error(`simulated promise did not settle within ${maxMs} ms`);
    return tracked;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Timer {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && this.less(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}

/** A 64-bit FNV-1a style running hash (two 32-bit lanes) over the events of a run. */
export class TraceHash {
  private a = 0x811c9dc5;
  private b = 0x01000193;
  count = 0;

  add(...values: Array<number | string>): void {
    this.count++;
    for (const v of values) {
      if (typeof v === 'number') {
        this.mix(v | 0);
        this.mix(Math.floor(v / 4294967296) | 0);
      }
      else for (let i = 0; i < v.length; i++) this.mix(v.charCodeAt(i));
    }
  }

  private mix(x: number): void {
    this.a = Math.imul(this.a ^ x, 0x01000193) >>> 0;
    this.b = Math.imul(this.b ^ (x + 0x9e3779b9), 0x85ebca6b) >>> 0;
  }

  digest(): string {
    return this.a.toString(16).padStart(8, '0') + this.b.toString(16).padStart(8, '0');
  }
}
