// Shared fixtures for the component tests: a counter component in several versions, and a runtime.
import { systemClock, type Clock } from '../../../src/core/clock.ts';
import {
  defineComponent,
  type ComponentDefinition,
  type ComponentInstance,
} from '../../../src/components/define.ts';
import { ComponentRuntime } from '../../../src/components/runtime.ts';

export const NODE = 'a'.repeat(64);

export interface CounterOptions {
  stateVersion?: number;
  failStart?: boolean;
  failMigrate?: boolean;
  unhealthy?: boolean;
  /** Log of (instance version, caller, seq) in the order calls reached an instance. */
  log?: Array<{ v: string; caller: string; seq: number }>;
  /** Called in every call; returning a promise keeps the call in flight until it settles. */
  work?: () => Promise<void> | void;
}

/** A counter: state v1 is `{ count }`, state v2 is `{ total, perCaller }`. */
export function counterDef(version: string, o: CounterOptions = {}): ComponentDefinition {
  const sv = o.stateVersion ?? 1;
  return defineComponent({
    name: 'counter',
    version,
    provides: ['counter'],
    stateVersion: sv,
    migrate: (old, from) => {
      if (o.failMigrate) throw new Error('migration exploded');
      const s = old as { count?: number; total?: number };
      if (from === 1 && sv === 2) return { total: s.count ?? 0, perCaller: {} };
      if (from === 2 && sv === 1) return { count: s.total ?? 0 };
      return old;
    },
    create(): ComponentInstance {
      let count = 0;
      let started = false;
      return {
        start() {
          if (o.failStart) throw new Error('start exploded');
          started = true;
        },
        stop() {
          started = false;
        },
        getState: () => (sv === 2 ? { total: count, perCaller: {} } : { count }),
        setState(s: unknown) {
          const st = s as { count?: number; total?: number };
          count = sv === 2 ? (st.total ?? 0) : (st.count ?? 0);
        },
        health: () => (o.unhealthy ? { ok: false, detail: 'not feeling well' } : started),
        async inc(caller: string, seq: number) {
          if (!started) throw new Error(`counter ${version} called while stopped`);
          o.log?.push({ v: version, caller, seq });
          count++;
          await o.work?.();
          return count;
        },
        get: () => count,
        version: () => version,
      };
    },
  });
}

export function makeRuntime(
  clock: Clock = systemClock(),
  extra: Partial<ConstructorParameters<typeof ComponentRuntime>[0]> = {},
) {
  return new ComponentRuntime({ node: NODE, clock, drainTimeoutMs: 2000, stepTimeoutMs: 2000, ...extra });
}

/** Lets pending macrotasks run (I/O, timers due now), so that calls interleave with a swap. */
export const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));
