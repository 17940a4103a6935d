// Progress of a long simulation on stderr, every few wall seconds: a 10,000-node run takes minutes, and
// that long a silence looks like a hang. It only reads the world, and a real timer drives it between
// simulated ticks (the run loop yields to the event loop after each one), so it cannot change the run.
import type { SimWorld } from './world.ts';

export interface ProgressOptions {
  everyMs?: number;
  write?: (line: string) => void;
  /** Wall clock in ms (injected by tests). */
  wallNow?: () => number;
}

export class Progress {
  private phaseName = 'start';
  /** The current phase's short name, if it is timed, and when it began (wall ms). */
  private phaseKey: string | null = null;
  private phaseAt = 0;
  /** Wall seconds of each timed phase that ended (a benchmark row's `phaseSeconds`). */
  readonly seconds: Record<string, number> = {};
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly started: number;
  /** The simulated clock at the start (a world's clock does not start at 0). */
  private readonly simStarted: number;
  private readonly write: (line: string) => void;
  private readonly wallNow: () => number;

  constructor(
    private readonly world: SimWorld,
    private readonly options: ProgressOptions = {},
  ) {
    this.write = options.write ?? ((line) => process.stderr.write(`${line}\n`));
    this.wallNow = options.wallNow ?? (() => performance.now());
    this.started = this.wallNow();
    this.simStarted = world.sim.now();
  }

  /** Starts the periodic report. */
  start(): this {
    this.timer ??= setInterval(() => this.report(), this.options.everyMs ?? 10_000);
    this.timer.unref?.();
    return this;
  }

  /** A new phase begins: said at once, then in every report. With `key`, its wall time goes to `seconds`. */
  phase(name: string, key?: string): void {
    this.endPhase();
    this.phaseName = name;
    this.phaseKey = key ?? null;
    this.phaseAt = this.wallNow();
    this.report();
  }

  /** Ends the reports, and the current phase. */
  stop(): void {
    this.endPhase();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private endPhase(): void {
    if (this.phaseKey !== null) this.seconds[this.phaseKey] = Math.round(this.wallNow() - this.phaseAt) / 1000;
    this.phaseKey = null;
  }

  /** One line: the phase, simulated time, nodes live and joined (and created), frames so far, wall time. */
  report(): void {
    const { world } = this;
    const frames = world.network.totalFrames;
    const shownFrames = frames >= 1e6 ? `${(frames / 1e6).toFixed(2)}M` : frames >= 1e3 ? `${(frames / 1e3).toFixed(1)}k` : `${frames}`;
    this.write(
      `sim: ${this.phaseName}, ${((world.sim.now() - this.simStarted) / 1000).toFixed(1)} s simulated, ` +
        `${world.liveJoined.length} nodes live and joined (${world.nodes.size} created), ${shownFrames} frames, ` +
        `${Math.round((this.wallNow() - this.started) / 1000)} s wall`,
    );
  }
}
