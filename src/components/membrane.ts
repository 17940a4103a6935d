// The membrane: callers hold it, never the instance. It counts calls in flight and can hold new calls
// in one FIFO queue (which keeps each caller's order) while the instance behind it is replaced.
import type { Clock, TimerHandle } from '../core/clock.ts';
import { SelfmeshError } from '../core/errors.ts';
import { LIFECYCLE_HOOKS, type ComponentInstance } from './define.ts';

interface Held {
  method: string;
  args: unknown[];
  caller: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export interface MembraneStats {
  inFlight: number;
  held: number;
  calls: number;
  failed: number;
  holding: boolean;
  /** How long the last hold lasted (ms), and the longest one. */
  lastPauseMs: number;
  maxPauseMs: number;
}

export interface MembraneOptions {
  clock: Clock;
  /** Bound on the queue of held calls; a call beyond it is refused rather than kept without limit. */
  maxHeld?: number;
}

export class Membrane {
  private target: ComponentInstance | null = null;
  private accepting = false;
  private holding = false;
  private heldSince = 0;
  private queue: Held[] = [];
  private idleWaiters = new Set<() => void>();
  private inFlightCount = 0;
  private callCount = 0;
  private failedCount = 0;
  private lastPause = 0;
  private maxPause = 0;
  private readonly clock: Clock;
  private readonly maxHeld: number;

  constructor(
    readonly name: string,
    options: MembraneOptions,
  ) {
    this.clock = options.clock;
    this.maxHeld = options.maxHeld ?? 1_000_000;
  }

  /** Calls a provided method. `caller` names the calling party; its calls start in the order made. */
  call(method: string, args: unknown[] = [], _caller = ''): Promise<unknown> {
    if (this.holding || this.queue.length > 0) {
      if (this.queue.length >= this.maxHeld)
        return Promise.reject(new SelfmeshError('QUOTA', `${this.name}: too many held calls`));
      return new Promise((resolve, reject) =>
        this.queue.push({ method, args, caller: _caller, resolve, reject }),
      );
    }
    return this.dispatch(method, args);
  }

  /** Points the membrane at an instance; `accept` opens it to calls (a stopped component refuses them). */
  setTarget(instance: ComponentInstance | null): void {
    this.target = instance;
  }

  getTarget(): ComponentInstance | null {
    return this.target;
  }

  setAccepting(accepting: boolean): void {
    this.accepting = accepting;
  }

  /** From now on new calls wait in the queue. */
  hold(): void {
    if (this.holding) return;
    this.holding = true;
    this.heldSince = this.clock.now();
  }

  /** Lets held calls through, in order, to whatever instance is the target now. Returns the pause in ms. */
  release(): number {
    if (!this.holding) return 0;
    this.holding = false;
    const pause = this.clock.now() - this.heldSince;
    this.lastPause = pause;
    this.maxPause = Math.max(this.maxPause, pause);
    // Dispatch synchronously: a call made after release cannot overtake a held one.
    const queue = this.queue;
    this.queue = [];
    for (const h of queue) this.dispatch(h.method, h.args).then(h.resolve, h.reject);
    return pause;
  }

  get isHolding(): boolean {
    return this.holding;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Resolves true once no call is in flight, or false after timeoutMs on the clock. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.inFlightCount === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      // Both ends run later (a call ending, or the timer), so `timer` is set by the time done() reads it.
      const done = (idle: boolean) => {
        this.idleWaiters.delete(onIdle);
        this.clock.clearTimeout(timer);
        resolve(idle);
      };
      const onIdle = () => done(true);
      this.idleWaiters.add(onIdle);
      const timer: TimerHandle = this.clock.setTimeout(() => done(false), timeoutMs);
    });
  }

  stats(): MembraneStats {
    return {
      inFlight: this.inFlightCount,
      held: this.queue.length,
      calls: this.callCount,
      failed: this.failedCount,
      holding: this.holding,
      lastPauseMs: this.lastPause,
      maxPauseMs: this.maxPause,
    };
  }

  /** Refuses every held call (used only when a component is removed for good). */
  rejectHeld(error: unknown): void {
    const queue = this.queue;
    this.queue = [];
    this.holding = false;
    for (const h of queue) h.reject(error);
  }

  private dispatch(method: string, args: unknown[]): Promise<unknown> {
    const target = this.target;
    if (!target || !this.accepting)
      return Promise.reject(new SelfmeshError('CLOSED', `${this.name} is not started`));
    const fn = target[method];
    if (typeof fn !== 'function' || LIFECYCLE_HOOKS.has(method) || method in Object.prototype)
      return Promise.reject(new SelfmeshError('REFUSED', `${this.name} has no method ${method}`));
    this.callCount++;
    this.inFlightCount++;
    let result: Promise<unknown>;
    try {
      result = Promise.resolve((fn as (...a: unknown[]) => unknown).apply(target, args));
    } catch (e) {
      result = Promise.reject(e);
    }
    return result.then(
      (value) => {
        this.finish();
        return value;
      },
      (error: unknown) => {
        this.failedCount++;
        this.finish();
        throw error;
      },
    );
  }

  private finish(): void {
    this.inFlightCount--;
    if (this.inFlightCount === 0) for (const w of [...this.idleWaiters]) w();
  }
}
