// Hot swap, as DESIGN.md orders it: hold new calls; drain the calls in flight (bounded, else abandon);
// take the state; stop the old instance; create the new one with the migrated state; start it; check
// its health; rebind; release the held calls. Any failure puts the old instance back with its state.
import type { Clock, TimerHandle } from '../core/clock.ts';
import { SelfmeshError, errorMessage, isSelfmeshError, type ErrorCode } from '../core/errors.ts';
import type { LiveComponent } from './component.ts';
import type { ComponentDefinition, ComponentInstance, HealthResult } from './define.ts';
import { migrateState, type StateSnapshot } from './state.ts';

export type SwapStage = 'drain' | 'state' | 'migrate' | 'create' | 'start' | 'health' | 'rebind';

export interface SwapOptions {
  clock: Clock;
  /** How long to wait for calls in flight before abandoning the swap. */
  drainTimeoutMs?: number;
  /** Bound on the new instance's start and health check, so held calls are never held for long. */
  stepTimeoutMs?: number;
}

export interface SwapReport {
  ok: boolean;
  component: string;
  from: string;
  to: string;
  /** How long new calls were held (ms). */
  pauseMs: number;
  /** Calls that were in flight when the hold began, and calls that were held. */
  drained: number;
  held: number;
  error?: { stage: SwapStage; code: ErrorCode; message: string };
  /** Set when putting the old version back failed too (the component is then marked failed). */
  restoreError?: string;
}

export function withTimeout<T>(clock: Clock, work: Promise<T> | T, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer: TimerHandle = clock.setTimeout(
      () => reject(new SelfmeshError('TIMEOUT', `${what} took longer than ${ms} ms`)),
      ms,
    );
    Promise.resolve(work).then(
      (v) => {
        clock.clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function healthy(result: HealthResult): { ok: boolean; detail?: string } {
  return typeof result === 'boolean' ? { ok: result } : { ok: !!result?.ok, detail: result?.detail };
}

class StageError extends Error {
  constructor(
    readonly stage: SwapStage,
    readonly inner: unknown,
  ) {
    super(errorMessage(inner));
  }
}

async function stage<T>(name: SwapStage, work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw new StageError(name, e);
  }
}

/** Replaces the instance behind `component`'s membrane by one of `next`. Never throws: read the report. */
export async function hotSwap(
  component: LiveComponent,
  next: ComponentDefinition,
  options: SwapOptions,
): Promise<SwapReport> {
  const { clock } = options;
  const drainMs = options.drainTimeoutMs ?? 2000;
  const stepMs = options.stepTimeoutMs ?? 2000;
  const from = component.version;
  const base = { component: component.name, from, to: next.version };
  // A swap refused before it starts holds nothing and changes nothing.
  const refused = (error: NonNullable<SwapReport['error']>): SwapReport => ({ ...base, ok: false, pauseMs: 0, drained: 0, held: 0, error });
  if (component.swapping) {
    return refused({ stage: 'drain', code: 'CONFLICT', message: `${component.name}: a swap is already running` });
  }
  if (component.def.kind === 'composite' || next.name !== component.name) {
    return refused({ stage: 'create', code: 'REFUSED', message: `cannot swap ${component.name} for ${next.name}` });
  }

  component.swapping = true;
  const membrane = component.membrane;
  const oldDef = component.def as ComponentDefinition;
  const oldInstance = component.instance!;
  const wasStarted = component.lifecycle.state() === 'started';
  const drained = membrane.inFlight;
  membrane.hold();
  let saved: StateSnapshot | undefined;
  let oldStopped = false;
  let fresh: ComponentInstance | undefined;
  try {
    const idle = await membrane.whenIdle(drainMs);
    if (!idle)
      throw new StageError(
        'drain',
        new SelfmeshError(
          'TIMEOUT',
          `${membrane.inFlight} calls still in flight after ${drainMs} ms; swap abandoned`,
        ),
      );
    saved = await stage('state', () => component.takeState());
    const migrated = await stage('migrate', () => migrateState(saved!, oldDef, next));
    // The old instance stops before the new one starts, so the two never both act (timers, subscriptions).
    if (wasStarted) {
      await stage('state', () =>
        withTimeout(clock, oldInstance.stop?.(), stepMs, `${component.name}@${from} stop`),
      );
      oldStopped = true;
    }
    fresh = await stage('create', () => component.createInstance(next));
    const created = fresh;
    await stage('create', () => {
      if (migrated.state !== undefined && typeof created.setState === 'function')
        return created.setState(migrated.state);
    });
    if (wasStarted) {
      await stage('start', () =>
        withTimeout(clock, created.start?.(), stepMs, `${next.name}@${next.version} start`),
      );
      await stage('health', async () => {
        if (typeof created.health !== 'function') return;
        const h = healthy(
          await withTimeout(clock, created.health(), stepMs, `${next.name}@${next.version} health check`),
        );
        if (!h.ok)
          throw new SelfmeshError('REFUSED', `health check failed${h.detail ? ': ' + h.detail : ''}`);
      });
    }
    await stage('rebind', () => {
      const missing = component.bindings.missing(next.requires);
      if (missing.length)
        throw new SelfmeshError('REFUSED', `required interfaces not bound: ${missing.join(', ')}`);
      component.replace(next, created);
    });
    const held = membrane.stats().held;
    const pauseMs = membrane.release();
    component.lastError = null;
    return { ...base, ok: true, pauseMs, drained, held };
  } catch (e) {
    const failure = e instanceof StageError ? e : new StageError('create', e);
    const inner = failure.inner;
    const code: ErrorCode = isSelfmeshError(inner) ? inner.code : 'INTERNAL';
    const report: SwapReport = {
      ...base,
      ok: false,
      pauseMs: 0,
      drained,
      held: membrane.stats().held,
      error: {
        stage: failure.stage,
        code,
        message: `${next.name}@${next.version}: ${failure.stage} failed: ${errorMessage(inner)}`,
      },
    };
    // Put the old instance back, with the state it had, before any held call goes through.
    if (fresh) {
      const f = fresh;
      await withTimeout(
        clock,
        Promise.resolve().then(() => f.stop?.()),
        stepMs,
        'stop of the failed version',
      ).catch(() => undefined);
    }
    component.replace(oldDef, oldInstance);
    try {
      if (oldStopped) {
        if (saved) await oldInstance.setState?.(structuredCloneSafe(saved.state));
        await withTimeout(clock, oldInstance.start?.(), stepMs, `${component.name}@${from} restart`);
      }
    } catch (restoreError) {
      report.restoreError = errorMessage(restoreError);
    }
    component.lastError = report.error!.message;
    report.pauseMs = membrane.release();
    return report;
  } finally {
    component.swapping = false;
  }
}

function structuredCloneSafe(state: unknown): unknown {
  return state !== null && typeof state === 'object' ? structuredClone(state) : state;
}
