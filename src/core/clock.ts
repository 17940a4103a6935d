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

/**
 * Waits for `work` or for ms on the clock, whichever comes first; resolves true if the time ran out.
 * The timer is cleared when the work wins, so a finished wait leaves nothing to fire later (a node that
 * left would otherwise still hold it).
 */
export async function within(clock: Clock, ms: number, work: Promise<unknown>): Promise<boolean> {
  let handle: TimerHandle | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    handle = clock.setTimeout(() => resolve(true), ms);
  });
  try {
    return await Promise.race([work.then(() => false), timeout]);
  } finally {
    clock.clearTimeout(handle);
  }
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
