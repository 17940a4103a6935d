// Introspection: the live component graph of a node as plain JSON (for the app and for remote peers).
import type { Id } from '../core/id.ts';
import type { BindingInfo } from './binding.ts';
import type { LiveComponent } from './component.ts';
import type { LifecycleState } from './lifecycle.ts';
import type { MembraneStats } from './membrane.ts';

export interface ComponentDescription {
  name: string;
  version: string;
  kind: 'primitive' | 'composite';
  state: LifecycleState;
  stateVersion: number;
  provides: string[];
  requires: string[];
  bindings: BindingInfo[];
  attributes: Record<string, unknown>;
  membrane: MembraneStats;
  origin?: { codeHash: string; publisher: string };
  lastError?: string;
  children: ComponentDescription[];
}

export interface GraphEdge {
  /** "component" or "parent/child" path of the requiring component. */
  from: string;
  iface: string;
  /** The serving component, prefixed with "node:" when it runs on another node. */
  to: string;
  kind: BindingInfo['kind'];
}

export interface ComponentGraph {
  node: Id;
  at: number;
  components: ComponentDescription[];
  edges: GraphEdge[];
}

export function describeComponent(c: LiveComponent): ComponentDescription {
  return {
    name: c.name,
    version: c.version,
    kind: c.def.kind,
    state: c.lifecycle.state(),
    stateVersion: c.def.stateVersion,
    provides: [...c.def.provides],
    requires: [...c.def.requires],
    bindings: c.bindings.list(),
    attributes: c.attributes.list(),
    membrane: c.membrane.stats(),
    ...(c.origin ? { origin: { ...c.origin } } : {}),
    ...(c.lastError ? { lastError: c.lastError } : {}),
    children: c.content.list().map(describeComponent),
  };
}

export interface IntrospectionController {
  describe(): ComponentGraph;
}

export function describeGraph(node: Id, at: number, components: Iterable<LiveComponent>): ComponentGraph {
  const described: ComponentDescription[] = [];
  const edges: GraphEdge[] = [];
  const walk = (c: LiveComponent, path: string) => {
    for (const b of c.bindings.list())
      edges.push({
        from: path,
        iface: b.iface,
        to: b.node ? `${b.node}:${b.component}` : b.component,
        kind: b.kind,
      });
    for (const child of c.content.list()) walk(child, `${path}/${child.name}`);
  };
  for (const c of components) {
    described.push(describeComponent(c));
    walk(c, c.name);
  }
  // A round trip through JSON guarantees the result is plain data, as promised.
  return JSON.parse(JSON.stringify({ node, at, components: described, edges })) as ComponentGraph;
}
