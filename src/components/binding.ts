// Binding controller: which component (here or on another node) serves each required interface.
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { InterfaceProxy } from './define.ts';
import type { Membrane } from './membrane.ts';

/** The port to call a component on another node; the composition root adapts the overlay to it. */
export interface RemoteCaller {
  call(node: Id, component: string, method: string, args: unknown[]): Promise<unknown>;
}

export type BindingTarget =
  | { kind: 'local'; component: string; membrane: Membrane }
  | { kind: 'remote'; node: Id; component: string; caller: RemoteCaller }
  | { kind: 'host'; component: string; service: Record<string, unknown> };

export interface BindingInfo {
  iface: string;
  kind: BindingTarget['kind'];
  component: string;
  node?: Id;
}

export interface BindingController {
  bind(iface: string, target: BindingTarget): void;
  unbind(iface: string): void;
  lookup(iface: string): BindingTarget | undefined;
  list(): BindingInfo[];
}

export function localTarget(membrane: Membrane): BindingTarget {
  return { kind: 'local', component: membrane.name, membrane };
}

export function remoteTarget(caller: RemoteCaller, node: Id, component: string): BindingTarget {
  return { kind: 'remote', node, component, caller };
}

/** A service of the host node (e.g. the room's broadcast) offered to components as an interface. */
export function hostTarget(name: string, service: Record<string, unknown>): BindingTarget {
  return { kind: 'host', component: name, service };
}

export function invokeTarget(
  target: BindingTarget,
  method: string,
  args: unknown[],
  caller: string,
): Promise<unknown> {
  switch (target.kind) {
    case 'local':
      return target.membrane.call(method, args, caller);
    case 'remote':
      return target.caller.call(target.node, target.component, method, args);
    case 'host': {
      const fn = target.service[method];
      if (typeof fn !== 'function')
        return Promise.reject(
          new SelfmeshError('REFUSED', `host service ${target.component} has no method ${method}`),
        );
      try {
        return Promise.resolve((fn as (...a: unknown[]) => unknown).apply(target.service, args));
      } catch (e) {
        return Promise.reject(e);
      }
    }
  }
}

export class Bindings implements BindingController {
  private map = new Map<string, BindingTarget>();

  constructor(
    private readonly owner: string,
    private readonly required: () => readonly string[],
  ) {}

  bind(iface: string, target: BindingTarget): void {
    if (!this.required().includes(iface))
      throw new SelfmeshError('REFUSED', `${this.owner} does not require interface ${iface}`);
    this.map.set(iface, target);
  }

  unbind(iface: string): void {
    this.map.delete(iface);
  }

  lookup(iface: string): BindingTarget | undefined {
    return this.map.get(iface);
  }

  list(): BindingInfo[] {
    return [...this.map].map(([iface, t]) => ({
      iface,
      kind: t.kind,
      component: t.component,
      ...(t.kind === 'remote' ? { node: t.node } : {}),
    }));
  }

  /** Required interfaces that have no binding (a component cannot start with any). */
  missing(required: readonly string[]): string[] {
    return required.filter((iface) => !this.map.has(iface));
  }

  /** The proxy an instance gets from ctx.use(): the binding is looked up at each call, not captured. */
  proxy(iface: string): InterfaceProxy {
    return new Proxy({} as InterfaceProxy, {
      get: (_t, method) => {
        if (typeof method !== 'string' || method === 'then') return undefined;
        return (...args: unknown[]) => {
          const target = this.map.get(iface);
          if (!target)
            return Promise.reject(
              new SelfmeshError('UNREACHABLE', `${this.owner}: required interface ${iface} is not bound`),
            );
          return invokeTarget(target, method, args, this.owner);
        };
      },
    });
  }
}
