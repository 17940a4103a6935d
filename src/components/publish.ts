// Publishing a component: sign its manifest and put code, manifest and version list into the code store.
import type { Identity } from '../core/identity.ts';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { defineComponent, type ComponentSpec } from './define.ts';
import type { Manifest, ManifestFields } from './manifest.ts';
import { ComponentRegistry, type CodeStorePort } from './registry.ts';
import { defaultImporter, moduleUrl, type Importer, type ModuleUrlKind } from './loader.ts';

export interface Published {
  manifest: Manifest;
  code: Uint8Array;
}

/** `source` is the module text (already bundled: the code must import nothing at run time). */
export async function publishComponent(
  codeStore: CodeStorePort,
  identity: Identity,
  source: string | Uint8Array,
  manifestFields: ManifestFields,
): Promise<Published> {
  const code = typeof source === 'string' ? utf8ToBytes(source) : source;
  const manifest = await new ComponentRegistry(codeStore).publish(identity, code, manifestFields);
  return { manifest, code };
}

/**
 * Reads name, version and interfaces from the module itself (its default export). This imports the
 * code, so use it only on the publisher's own code, never on code received from peers.
 */
export async function readManifestFields(
  source: string | Uint8Array,
  importer: Importer = defaultImporter,
  urlKind: ModuleUrlKind = 'data',
): Promise<ManifestFields> {
  const code = typeof source === 'string' ? utf8ToBytes(source) : source;
  const { url, revoke } = moduleUrl(code, urlKind);
  try {
    const mod = (await importer(url)) as { default?: unknown };
    const def = defineComponent(mod.default as ComponentSpec);
    return {
      name: def.name,
      version: def.version,
      provides: [...def.provides],
      requires: [...def.requires],
      stateVersion: def.stateVersion,
    };
  } finally {
    revoke();
  }
}
