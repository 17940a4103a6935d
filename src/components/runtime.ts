// The per-node component runtime: install, start, stop, call, bind, swap, upgrade, rollback, describe.
import type { Clock } from '../core/clock.ts';
import { Emitter } from '../core/emitter.ts';
import { SelfmeshError, errorMessage } from '../core/errors.ts';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { Id } from '../core/id.ts';
import { localTarget, remoteTarget, type BindingTarget, type RemoteCaller } from './binding.ts';
import { LiveComponent, type LiveComponentOptions } from './component.ts';
import type { AnyDefinition } from './composite.ts';
import type { ComponentDefinition } from './define.ts';
import { hotSwap, type SwapReport } from './hot-swap.ts';
import { describeGraph, type ComponentGraph } from './introspection.ts';
import type { ComponentLoader, Loaded } from './loader.ts';
import type { ComponentRegistry } from './registry.ts';
import { compareVersions } from './semver.ts';
import type { Trader } from './trading.ts';
import type { TrustPolicy } from './trust.ts';

export interface RuntimeEvents {
  installed: { name: string; version: string };
  removed: { name: string };
  swap: SwapReport;
  /** An event a component emitted through ctx.emit (chat messages, for the app). */
  event: { component: string; event: string; data: unknown };
}

export interface RuntimeOptions {
  node: Id;
  clock: Clock;
  loader?: ComponentLoader;
  registry?: ComponentRegistry;
  /** The room's policy; upgrades look for versions from these publishers. */
  trust?: () => TrustPolicy;
  remote?: RemoteCaller;
  trader?: Trader;
  drainTimeoutMs?: number;
  stepTimeoutMs?: number;
}

export interface ComponentSummary {
  name: string;
  version: string;
  state: string;
  provides: string[];
  load: number;
}

export class ComponentRuntime {
  readonly events = new Emitter<RuntimeEvents>();
  private components = new Map<string, LiveComponent>();

  constructor(private readonly options: RuntimeOptions) {}

  get node(): Id {
    return this.options.node;
  }

  install(
    def: AnyDefinition,
    options: LiveComponentOptions & { bindings?: Record<string, BindingTarget> } = {},
  ): LiveComponent {
    if (this.components.has(def.name))
      throw new SelfmeshError('CONFLICT', `${def.name} is already installed`);
    const host = {
      node: this.options.node,
      clock: this.options.clock,
      emit: (component: string, event: string, data: unknown) =>
        this.events.emit('event', { component, event, data }),
    };
    const c = new LiveComponent(def, host, { drainTimeoutMs: this.options.drainTimeoutMs, ...options });
    for (const [iface, target] of Object.entries(options.bindings ?? {})) c.bindings.bind(iface, target);
    this.components.set(def.name, c);
    this.events.emit('installed', { name: def.name, version: def.version });
    return c;
  }

  /** Loads a verified version from the registry (the newest trusted one if none is named) and installs it. */
  async installFrom(
    name: string,
    version?: string,
    options: Parameters<ComponentRuntime['install']>[1] = {},
  ): Promise<LiveComponent> {
    const loaded = await this.loadVersion(name, version, {});
    return this.install(loaded.def, {
      ...options,
      origin: { codeHash: loaded.manifest.codeHash, publisher: loaded.manifest.publisher },
    });
  }

  get(name: string): LiveComponent | undefined {
    return this.components.get(name);
  }

  private must(name: string): LiveComponent {
    const c = this.components.get(name);
    if (!c) throw new SelfmeshError('REFUSED', `no component ${name} on this node`);
    return c;
  }

  start(name: string): Promise<void> {
    return this.must(name).lifecycle.start();
  }

  stop(name: string): Promise<void> {
    return this.must(name).lifecycle.stop();
  }

  async remove(name: string): Promise<void> {
    const c = this.must(name);
    await c.lifecycle.stop();
    c.membrane.rejectHeld(new SelfmeshError('CLOSED', `${name} was removed`));
    this.components.delete(name);
    this.events.emit('removed', { name });
  }

  call(name: string, method: string, args: unknown[] = [], caller = ''): Promise<unknown> {
    const c = this.components.get(name);
    if (!c) return Promise.reject(new SelfmeshError('REFUSED', `no component ${name} on this node`));
    return c.membrane.call(method, args, caller);
  }

  bind(name: string, iface: string, target: BindingTarget): void {
    this.must(name).bindings.bind(iface, target);
  }

  bindLocal(name: string, iface: string, provider: string): void {
    this.bind(name, iface, localTarget(this.must(provider).membrane));
  }

  bindRemote(name: string, iface: string, node: Id, component: string): void {
    if (!this.options.remote) throw new SelfmeshError('REFUSED', 'this runtime has no remote caller');
    this.bind(name, iface, remoteTarget(this.options.remote, node, component));
  }

  /** Swaps in a definition already at hand (tests, the app's built-ins). */
  async swap(
    name: string,
    def: ComponentDefinition,
    origin?: LiveComponentOptions['origin'],
  ): Promise<SwapReport> {
    const c = this.must(name);
    const report = await hotSwap(c, def, {
      clock: this.options.clock,
      drainTimeoutMs: this.options.drainTimeoutMs,
      stepTimeoutMs: this.options.stepTimeoutMs,
    });
    if (report.ok) c.origin = origin;
    this.events.emit('swap', report);
    return report;
  }

  /** Swaps to a newer version from the registry: the named one, or the newest a trusted publisher lists. */
  async upgrade(name: string, version?: string): Promise<SwapReport> {
    const c = this.must(name);
    const loaded = await this.loadVersion(name, version, { current: c.version });
    return this.swap(name, loaded.def, {
      codeHash: loaded.manifest.codeHash,
      publisher: loaded.manifest.publisher,
    });
  }

  /** Swaps back to an older version, which must be named. */
  async rollback(name: string, version: string): Promise<SwapReport> {
    const c = this.must(name);
    const loaded = await this.loadVersion(name, version, { current: c.version, rollbackTo: version });
    return this.swap(name, loaded.def, {
      codeHash: loaded.manifest.codeHash,
      publisher: loaded.manifest.publisher,
    });
  }

  /** Versions of `name` listed by trusted publishers, oldest first (for the app's upgrade/rollback menus). */
  async availableVersions(name: string): Promise<string[]> {
    const { registry, trust } = this.requireRegistry();
    const all = new Set<string>();
    for (const key of trust().trustedPublishers)
      for (const v of await registry.versions(hexToBytes(key), name).catch((): string[] => [])) all.add(v);
    return [...all].sort(compareVersions);
  }

  describe(): ComponentGraph {
    return describeGraph(this.options.node, this.options.clock.now(), this.components.values());
  }

  list(): ComponentSummary[] {
    return [...this.components.values()].map((c) => ({
      name: c.name,
      version: c.version,
      state: c.lifecycle.state(),
      provides: [...c.def.provides],
      load: c.membrane.inFlight + c.membrane.stats().held,
    }));
  }

  /** Advertises every started component under each interface it provides. */
  async advertise(): Promise<void> {
    const trader = this.options.trader;
    if (!trader) return;
    for (const s of this.list())
      if (s.state === 'started')
        for (const iface of s.provides) await trader.advertise(iface, s.name, s.version, s.load);
  }

  private requireRegistry(): {
    registry: ComponentRegistry;
    loader: ComponentLoader;
    trust: () => TrustPolicy;
  } {
    const { registry, loader, trust } = this.options;
    if (!registry || !loader || !trust)
      throw new SelfmeshError('REFUSED', 'this runtime has no registry, loader or trust policy');
    return { registry, loader, trust };
  }

  private async loadVersion(
    name: string,
    version: string | undefined,
    intent: { current?: string; rollbackTo?: string },
  ): Promise<Loaded> {
    const { registry, loader, trust } = this.requireRegistry();
    const publishers = trust().trustedPublishers.map((k) => hexToBytes(k));
    if (version === undefined) {
      const latest = await registry.latest(publishers, name);
      if (!latest) throw new SelfmeshError('UNREACHABLE', `no trusted publisher lists a version of ${name}`);
      return loader.loadFrom(registry, latest.publisher, name, latest.version, intent);
    }
    let lastError: unknown = new SelfmeshError(
      'UNREACHABLE',
      `no trusted publisher lists ${name}@${version}`,
    );
    for (const publisher of publishers) {
      if (!(await registry.versions(publisher, name).catch((): string[] => [])).includes(version)) continue;
      try {
        return await loader.loadFrom(registry, publisher, name, version, intent);
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError instanceof SelfmeshError
      ? lastError
      : new SelfmeshError('INTERNAL', errorMessage(lastError));
  }
}
