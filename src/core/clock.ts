// Time as a parameter: the browser and Node use the system clock, the simulator a virtual one.

export type TimerHandle = { readonly __timer: unique symbol } | number | object;

export interface Clock {
  /** Milliseconds since an arbitrary epoch (monotonic where the platform allows). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** Wall clock of the platform. Only composition roots (src/app, signaling, scripts) create it. */
export function systemClock(): Clock {
  const perf = globalThis.performance;
  return {
    // The one place that reads the platform's time; everything else is handed this clock.
    // eslint-disable-next-line no-restricted-properties
    now: () => (perf ? perf.timeOrigin + perf.now() : Date.now()),
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) as unknown as TimerHandle,
    clearTimeout: (h) => {
      if (h !== undefined) globalThis.clearTimeout(h as unknown as ReturnType<typeof setTimeout>);
    },
  };
}

/** Resolves after ms on the given clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Repeats fn every ms (with the first run after ms) until the returned stop is called. */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  let stopped = false;
  let handle: TimerHandle | undefined;
  const tick = () => {
    if (stopped) return;
    fn();
    if (!stopped) handle = clock.setTimeout(tick, ms);
  };
  handle = clock.setTimeout(tick, ms);
  return () => {
    stopped = true;
    clock.clearTimeout(handle);
  };
}
