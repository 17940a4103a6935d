// The loader: verify (hash, signature, trust, version) and only then import() the code — from a Blob
// URL in a tab, a data: URL in Node. The importer is a parameter, so tests can see whether it ran.
import { SelfmeshError, errorMessage } from '../core/errors.ts';
import type { SignatureScheme } from '../core/identity.ts';
import { defineComponent, type ComponentDefinition, type ComponentSpec } from './define.ts';
import type { Manifest } from './manifest.ts';
import type { ComponentRegistry } from './registry.ts';
import { verifyComponent, type TrustPolicy, type VersionIntent } from './trust.ts';

export type Importer = (url: string) => Promise<unknown>;
export type ModuleUrlKind = 'blob' | 'data';

/** The platform's dynamic import; `@vite-ignore` because the URL is only known at run time. */
export const defaultImporter: Importer = (url) => import(/* @vite-ignore */ url);

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** A URL the importer can load the code from, and how to free it afterwards. */
export function moduleUrl(code: Uint8Array, kind: ModuleUrlKind): { url: string; revoke(): void } {
  if (kind === 'blob') {
    const url = URL.createObjectURL(new Blob([code as BlobPart], { type: 'text/javascript' }));
    return { url, revoke: () => URL.revokeObjectURL(url) };
  }
  return { url: `data:text/javascript;base64,${base64(code)}`, revoke: () => undefined };
}

export interface LoaderOptions {
  /** Read at each load, so a change to the room's policy applies to the next load. */
  trust: () => TrustPolicy;
  scheme: SignatureScheme;
  importer?: Importer;
  /** 'blob' in a tab, 'data' in Node (Node cannot import blob: URLs). */
  urlKind?: ModuleUrlKind;
}

export interface Loaded {
  def: ComponentDefinition;
  manifest: Manifest;
}

export class ComponentLoader {
  private readonly importer: Importer;
  private readonly urlKind: ModuleUrlKind;

  constructor(private readonly options: LoaderOptions) {
    this.importer = options.importer ?? defaultImporter;
    this.urlKind = options.urlKind ?? 'data';
  }

  /** Verifies, then imports. Every refusal happens before the importer is called. */
  async load(manifestValue: unknown, code: Uint8Array, intent: VersionIntent = {}): Promise<Loaded> {
    const manifest = verifyComponent(this.options.trust(), this.options.scheme, manifestValue, code, intent);
    const label = `${manifest.name}@${manifest.version}`;
    const { url, revoke } = moduleUrl(code, this.urlKind);
    let mod: unknown;
    try {
      mod = await this.importer(url);
    } catch (e) {
      throw new SelfmeshError('BAD_MESSAGE', `${label}: import failed: ${errorMessage(e)}`, { cause: e });
    } finally {
      revoke();
    }
    const spec = (mod as { default?: unknown } | null)?.default;
    const def = defineComponent(spec as ComponentSpec);
    checkMatches(def, manifest);
    return { def, manifest };
  }

  /** Fetches a version from the registry and loads it. */
  async loadFrom(
    registry: ComponentRegistry,
    publisher: Uint8Array,
    name: string,
    version: string,
    intent: VersionIntent = {},
  ): Promise<Loaded> {
    const { manifest, code } = await registry.fetch(publisher, name, version);
    return this.load(manifest, code, intent);
  }
}

/** The module must be what its manifest says, or a signed manifest could describe other code's claims. */
function checkMatches(def: ComponentDefinition, m: Manifest): void {
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (
    def.name !== m.name ||
    def.version !== m.version ||
    def.stateVersion !== m.stateVersion ||
    !same(def.provides, m.provides) ||
    !same(def.requires, m.requires)
  )
    throw new SelfmeshError(
      'REFUSED',
      `${m.name}@${m.version}: the module declares ${def.name}@${def.version} with other interfaces than its manifest`,
    );
}
