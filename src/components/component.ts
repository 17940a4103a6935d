// A live component: an instance behind its membrane, with its controllers (lifecycle, binding,
// attributes, content, state). A composite's instance forwards to its children.
import type { Clock } from '../core/clock.ts';
import { SelfmeshError, errorMessage } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import { Attributes } from './attributes.ts';
import { Bindings, hostTarget, localTarget } from './binding.ts';
import type { AnyDefinition, CompositeDefinition } from './composite.ts';
import { Content } from './content.ts';
import { LIFECYCLE_HOOKS, type ComponentContext, type ComponentInstance } from './define.ts';
import type { LifecycleController, LifecycleState } from './lifecycle.ts';
import { Membrane } from './membrane.ts';
import { giveState, takeState, type StateController, type StateSnapshot } from './state.ts';

/** What a component gets from the node that runs it. */
export interface ComponentHost {
  readonly node: Id;
  readonly clock: Clock;
  emit(component: string, event: string, data: unknown): void;
}

export interface LiveComponentOptions {
  attributes?: Record<string, unknown>;
  /** Manifest facts shown by describe() (code hash, publisher) when the code came from the registry. */
  origin?: { codeHash: string; publisher: string };
  drainTimeoutMs?: number;
}

export class LiveComponent {
  readonly name: string;
  readonly membrane: Membrane;
  readonly bindings: Bindings;
  readonly attributes: Attributes;
  readonly content: Content<LiveComponent>;
  readonly lifecycle: LifecycleController;
  readonly state: StateController;
  def: AnyDefinition;
  instance: ComponentInstance | null = null;
  origin: LiveComponentOptions['origin'];
  private life: LifecycleState = 'installed';
  /** Set while a hot swap runs, so that a second one (or a stop) waits its turn. */
  swapping = false;
  lastError: string | null = null;

  constructor(
    def: AnyDefinition,
    readonly host: ComponentHost,
    options: LiveComponentOptions = {},
  ) {
    this.def = def;
    this.name = def.name;
    this.origin = options.origin;
    this.membrane = new Membrane(def.name, { clock: host.clock });
    this.bindings = new Bindings(def.name, () => this.def.requires);
    this.attributes = new Attributes(options.attributes, (n, v) => this.instance?.onAttribute?.(n, v));
    this.content = new Content<LiveComponent>(def.name);
    const drainMs = options.drainTimeoutMs ?? 2000;
    this.lifecycle = {
      state: () => this.life,
      start: () => this.start(),
      stop: () => this.stop(drainMs),
    };
    this.state = {
      get: () => this.takeState(),
      set: (s) => this.giveState(s),
    };
    if (def.kind === 'composite') this.buildComposite(def);
    else this.instance = this.createInstance(def);
    this.membrane.setTarget(this.instance);
  }

  get version(): string {
    return this.def.version;
  }

  /** A fresh instance of `def` wired to this component's bindings and attributes (hot swap uses it). */
  createInstance(def: AnyDefinition): ComponentInstance {
    if (def.kind === 'composite')
      throw new SelfmeshError('REFUSED', `${def.name}: a composite is swapped child by child`);
    const ctx: ComponentContext = {
      name: def.name,
      version: def.version,
      node: this.host.node,
      clock: this.host.clock,
      use: (iface) => this.bindings.proxy(iface),
      attribute: (n) => this.attributes.get(n),
      emit: (event, data) => {
        try {
          this.host.emit(def.name, event, data);
        } catch {
          // The host's listeners must not break the component.
        }
      },
    };
    const instance = def.create(ctx);
    if (!instance || typeof instance !== 'object')
      throw new SelfmeshError('BAD_MESSAGE', `${def.name}@${def.version}: create() must return an object`);
    return instance;
  }

  /** Puts a new definition and instance in place (the rebind step of a swap, or a restore). */
  replace(def: AnyDefinition, instance: ComponentInstance): void {
    this.def = def;
    this.instance = instance;
    this.membrane.setTarget(instance);
  }

  markStarted(): void {
    this.life = 'started';
    this.membrane.setAccepting(true);
  }

  async takeState(): Promise<StateSnapshot> {
    if (!this.instance) throw new SelfmeshError('CLOSED', `${this.name} has no instance`);
    return takeState(this.instance, this.def);
  }

  async giveState(snapshot: StateSnapshot): Promise<void> {
    if (!this.instance) throw new SelfmeshError('CLOSED', `${this.name} has no instance`);
    if (snapshot.stateVersion !== this.def.stateVersion)
      throw new SelfmeshError(
        'REFUSED',
        `${this.name}: state version ${snapshot.stateVersion}, expected ${this.def.stateVersion}`,
      );
    await giveState(this.instance, snapshot);
  }

  private async start(): Promise<void> {
    if (this.life === 'started') return;
    const missing = this.bindings.missing(this.def.requires);
    if (missing.length)
      throw new SelfmeshError(
        'REFUSED',
        `${this.name}: required interfaces not bound: ${missing.join(', ')}`,
      );
    this.life = 'starting';
    try {
      for (const child of this.content.list()) await child.lifecycle.start();
      await this.instance?.start?.();
      this.markStarted();
    } catch (e) {
      this.life = 'failed';
      this.lastError = errorMessage(e);
      throw e;
    }
  }

  private async stop(drainMs: number): Promise<void> {
    if (this.life !== 'started') return;
    this.life = 'stopping';
    // Refuse new calls, let the ones in flight end (bounded), then stop the instance.
    this.membrane.setAccepting(false);
    await this.membrane.whenIdle(drainMs);
    try {
      await this.instance?.stop?.();
      for (const child of [...this.content.list()].reverse()) await child.lifecycle.stop();
    } finally {
      this.life = 'stopped';
    }
  }

  private buildComposite(def: CompositeDefinition): void {
    for (const childDef of def.children) {
      const child = new LiveComponent(childDef, this.host);
      this.content.add(child);
    }
    for (const w of def.wires)
      this.content.get(w.child)!.bindings.bind(w.iface, localTarget(this.content.get(w.to)!.membrane));
    // Unwired requirements go to the composite's own binding, looked up at each call.
    for (const child of this.content.list())
      for (const iface of child.def.requires)
        if (!child.bindings.lookup(iface))
          child.bindings.bind(iface, hostTarget(this.name, this.bindings.proxy(iface)));
    this.instance = this.compositeInstance(def);
  }

  private compositeInstance(def: CompositeDefinition): ComponentInstance {
    const exported = [...new Set(Object.values(def.exports))].map((n) => this.content.get(n)!);
    const hooks: ComponentInstance = {
      getState: async () => {
        const out: Record<string, StateSnapshot> = {};
        for (const c of this.content.list()) out[c.name] = await c.takeState();
        return out;
      },
      setState: async (s: unknown) => {
        const states = (s ?? {}) as Record<string, StateSnapshot>;
        for (const c of this.content.list()) if (states[c.name]) await c.giveState(states[c.name]!);
      },
      health: () => ({ ok: this.content.list().every((c) => c.lifecycle.state() === 'started') }),
    };
    // Provided methods are looked up in the exporting children at call time.
    return new Proxy(hooks, {
      get: (target, method) => {
        if (typeof method !== 'string') return undefined;
        if (LIFECYCLE_HOOKS.has(method)) return target[method];
        const child = exported.find((c) => typeof c.instance?.[method] === 'function');
        return child ? (...args: unknown[]) => child.membrane.call(method, args, this.name) : undefined;
      },
    });
  }
}
