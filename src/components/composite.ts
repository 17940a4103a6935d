// A composite: a component made of children. Its provided interfaces are exported from children; its
// children's required interfaces are wired to siblings or, when not wired, to the composite's own.
import { SelfmeshError } from '../core/errors.ts';
import type { ComponentDefinition } from './define.ts';
import { isVersion } from './semver.ts';

export interface CompositeSpec {
  name: string;
  version: string;
  children: ComponentDefinition[];
  /** Provided interface → the child that serves it. */
  exports: Record<string, string>;
  /** Child requirement bound to a sibling: `{ child, iface, to }`. */
  wires?: Array<{ child: string; iface: string; to: string }>;
  /** Interfaces the composite needs from outside (children's unwired requirements go here). */
  requires?: string[];
}

export interface CompositeDefinition {
  readonly kind: 'composite';
  readonly name: string;
  readonly version: string;
  readonly provides: string[];
  readonly requires: string[];
  readonly stateVersion: number;
  readonly children: ComponentDefinition[];
  readonly exports: Record<string, string>;
  readonly wires: Array<{ child: string; iface: string; to: string }>;
}

export type AnyDefinition = ComponentDefinition | CompositeDefinition;

export function defineComposite(spec: CompositeSpec): CompositeDefinition {
  if (!isVersion(spec.version))
    throw new SelfmeshError('BAD_MESSAGE', `${spec.name}: version must be semver`);
  const byName = new Map(spec.children.map((c) => [c.name, c]));
  if (byName.size !== spec.children.length)
    throw new SelfmeshError('BAD_MESSAGE', `${spec.name}: duplicate child names`);
  for (const [iface, child] of Object.entries(spec.exports)) {
    if (!byName.get(child)?.provides.includes(iface))
      throw new SelfmeshError(
        'BAD_MESSAGE',
        `${spec.name}: export ${iface} needs a child ${child} that provides it`,
      );
  }
  const wires = spec.wires ?? [];
  for (const w of wires) {
    if (!byName.get(w.child)?.requires.includes(w.iface) || !byName.get(w.to)?.provides.includes(w.iface))
      throw new SelfmeshError('BAD_MESSAGE', `${spec.name}: bad wire ${w.child}.${w.iface} → ${w.to}`);
  }
  const requires = spec.requires ?? [];
  for (const c of spec.children)
    for (const iface of c.requires)
      if (!wires.some((w) => w.child === c.name && w.iface === iface) && !requires.includes(iface))
        throw new SelfmeshError(
          'BAD_MESSAGE',
          `${spec.name}: ${c.name} requires ${iface}, which is neither wired nor required`,
        );
  return Object.freeze({
    kind: 'composite' as const,
    name: spec.name,
    version: spec.version,
    provides: Object.keys(spec.exports),
    requires: [...requires],
    stateVersion: 1,
    children: [...spec.children],
    exports: { ...spec.exports },
    wires: [...wires],
  });
}
