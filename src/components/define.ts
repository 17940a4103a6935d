// A component definition: what a component is (name, version, interfaces, state format) and how to
// make an instance of it. Shipped modules export a plain object of this shape; the loader passes it here.
import type { Clock } from '../core/clock.ts';
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import { isVersion } from './semver.ts';

/** Methods of a required interface, as the component sees them: every call is asynchronous. */
export type InterfaceProxy = Record<string, (...args: unknown[]) => Promise<unknown>>;

/** What an instance is given. It is all a component may use: it cannot import project code. */
export interface ComponentContext {
  readonly name: string;
  readonly version: string;
  readonly node: Id;
  readonly clock: Clock;
  /** A required interface, resolved through the binding controller at each call (so rebinding works). */
  use(iface: string): InterfaceProxy;
  /** Read-only view of the component's attributes (its configuration). */
  attribute(name: string): unknown;
  /** An event for the host (the app shows them); never throws into the component. */
  emit(event: string, data?: unknown): void;
}

export type HealthResult = boolean | { ok: boolean; detail?: string };

/**
 * A live instance. Every function-valued property other than the lifecycle and state hooks below is
 * a provided method, reachable only through the membrane.
 */
export interface ComponentInstance {
  start?(): void | Promise<void>;
  stop?(): void | Promise<void>;
  getState?(): unknown;
  setState?(state: unknown): void | Promise<void>;
  health?(): HealthResult | Promise<HealthResult>;
  onAttribute?(name: string, value: unknown): void;
  [method: string]: unknown;
}

export const LIFECYCLE_HOOKS: ReadonlySet<string> = new Set([
  'start',
  'stop',
  'getState',
  'setState',
  'health',
  'onAttribute',
]);

export interface ComponentSpec {
  name: string;
  version: string;
  provides?: string[];
  requires?: string[];
  /** Format version of what getState returns; a swap migrates between formats. */
  stateVersion?: number;
  create(ctx: ComponentContext): ComponentInstance;
  /** Turns state written by an older format into this version's format. */
  migrate?(oldState: unknown, fromStateVersion: number): unknown;
  /** Turns this version's state into an older format, so a rollback can keep the state. */
  downgrade?(state: unknown, toStateVersion: number): unknown;
}

export interface ComponentDefinition extends Required<Omit<ComponentSpec, 'migrate' | 'downgrade'>> {
  readonly kind: 'primitive';
  migrate?: ComponentSpec['migrate'];
  downgrade?: ComponentSpec['downgrade'];
}

const NAME = /^[a-z][a-z0-9._-]{0,63}$/;

function names(what: string, list: unknown): string[] {
  if (list === undefined) return [];
  if (!Array.isArray(list) || !list.every((n) => typeof n === 'string' && NAME.test(n)))
    throw new SelfmeshError('BAD_MESSAGE', `${what} must be a list of interface names`);
  return [...list] as string[];
}

/** Checks a spec (which may come from untrusted-shaped module exports) and freezes it. */
export function defineComponent(spec: ComponentSpec): ComponentDefinition {
  if (!spec || typeof spec !== 'object')
    throw new SelfmeshError('BAD_MESSAGE', 'component spec must be an object');
  if (typeof spec.name !== 'string' || !NAME.test(spec.name))
    throw new SelfmeshError('BAD_MESSAGE', `bad component name: ${String(spec.name)}`);
  if (!isVersion(spec.version))
    throw new SelfmeshError(
      'BAD_MESSAGE',
      `${spec.name}: version must be semver, got ${String(spec.version)}`,
    );
  if (typeof spec.create !== 'function')
    throw new SelfmeshError('BAD_MESSAGE', `${spec.name}: create must be a function`);
  const stateVersion = spec.stateVersion ?? 1;
  if (!Number.isInteger(stateVersion) || stateVersion < 0)
    throw new SelfmeshError('BAD_MESSAGE', `${spec.name}: stateVersion must be a non-negative integer`);
  for (const hook of ['migrate', 'downgrade'] as const)
    if (spec[hook] !== undefined && typeof spec[hook] !== 'function')
      throw new SelfmeshError('BAD_MESSAGE', `${spec.name}: ${hook} must be a function`);
  return Object.freeze({
    kind: 'primitive' as const,
    name: spec.name,
    version: spec.version,
    provides: Object.freeze(names('provides', spec.provides)) as string[],
    requires: Object.freeze(names('requires', spec.requires)) as string[],
    stateVersion,
    create: spec.create,
    migrate: spec.migrate,
    downgrade: spec.downgrade,
  });
}

/** The provided methods of an instance: its own function properties minus the lifecycle hooks. */
export function providedMethods(instance: ComponentInstance): string[] {
  return Object.keys(instance).filter((k) => typeof instance[k] === 'function' && !LIFECYCLE_HOOKS.has(k));
}
