// Code in the DHT: the code as an immutable record (key = its SHA-256), the manifest and the version
// list as the publisher's signed mutable records. Reads are verified by the loader, not trusted here.
import { bytesToHex } from '@noble/hashes/utils.js';
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { Identity } from '../core/identity.ts';
import { codeHashOf, parseManifest, signManifest, type Manifest, type ManifestFields } from './manifest.ts';
import { compareVersions, isVersion, maxVersion } from './semver.ts';

/**
 * What the registry needs from storage (the lead adapts the storage layer to it). putSigned signs with
 * the identity the port is bound to, which must be the publisher's; the manifest carries its own
 * signature as well, so a reader never relies on the storage signature alone.
 */
export interface CodeStorePort {
  putImmutable(bytes: Uint8Array): Promise<Id>;
  getImmutable(key: Id): Promise<Uint8Array | null>;
  putSigned(name: string, value: unknown): Promise<void>;
  getSigned(publicKey: Uint8Array, name: string): Promise<unknown | null>;
}

export const versionsRecord = (name: string) => `component/${name}/versions`;
export const manifestRecord = (name: string, version: string) => `component/${name}/${version}/manifest`;

export interface VersionList {
  name: string;
  versions: string[];
}

function parseVersionList(value: unknown, name: string): string[] {
  const record = value as VersionList | null;
  if (!record || record.name !== name || !Array.isArray(record.versions)) return [];
  const sorted = record.versions.filter(isVersion).sort(compareVersions);
  return sorted.filter((v, i) => i === 0 || sorted[i - 1] !== v);
}

export class ComponentRegistry {
  constructor(private readonly store: CodeStorePort) {}

  /** Stores the code, then the signed manifest, then the new version list (readers see code first). */
  async publish(identity: Identity, code: Uint8Array, fields: ManifestFields): Promise<Manifest> {
    const manifest = signManifest(identity, fields, code);
    const key = await this.store.putImmutable(code);
    if (key !== manifest.codeHash)
      throw new SelfmeshError(
        'INTERNAL',
        `code store returned key ${key}, expected the code's SHA-256 ${manifest.codeHash}`,
      );
    await this.store.putSigned(manifestRecord(fields.name, fields.version), manifest);
    const versions = await this.versions(identity.publicKey, fields.name);
    if (!versions.includes(fields.version)) {
      const list: VersionList = {
        name: fields.name,
        versions: [...versions, fields.version].sort(compareVersions),
      };
      await this.store.putSigned(versionsRecord(fields.name), list);
    }
    return manifest;
  }

  async versions(publisher: Uint8Array, name: string): Promise<string[]> {
    return parseVersionList(await this.store.getSigned(publisher, versionsRecord(name)), name);
  }

  /** The highest version any of the given publishers lists, with its publisher. */
  async latest(
    publishers: Uint8Array[],
    name: string,
  ): Promise<{ publisher: Uint8Array; version: string } | null> {
    let best: { publisher: Uint8Array; version: string } | null = null;
    for (const publisher of publishers) {
      const top = maxVersion(await this.versions(publisher, name).catch((): string[] => []));
      if (top && (!best || compareVersions(top, best.version) > 0)) best = { publisher, version: top };
    }
    return best;
  }

  /** The manifest and code as stored; nothing is verified here (the loader does that). */
  async fetch(
    publisher: Uint8Array,
    name: string,
    version: string,
  ): Promise<{ manifest: unknown; code: Uint8Array }> {
    const manifest = await this.store.getSigned(publisher, manifestRecord(name, version));
    if (manifest === null)
      throw new SelfmeshError(
        'UNREACHABLE',
        `no manifest for ${name}@${version} from publisher ${bytesToHex(publisher).slice(0, 12)}…`,
      );
    let hash: string;
    try {
      hash = parseManifest(manifest).codeHash;
    } catch {
      // Hand the bad manifest on: the loader's verification reports it with the right error code.
      return { manifest, code: new Uint8Array() };
    }
    const code = await this.store.getImmutable(hash);
    if (code === null)
      throw new SelfmeshError('UNREACHABLE', `code of ${name}@${version} (${hash.slice(0, 12)}…) not found`);
    return { manifest, code };
  }
}

/** An in-memory code store shared by several publishers (tests, the CLI's --out mode, one node). */
export class MemoryCodeStore {
  readonly immutable = new Map<string, Uint8Array>();
  readonly signed = new Map<string, unknown>();

  /** The port as seen by one identity: its putSigned writes that identity's records. */
  as(identity: Identity): CodeStorePort {
    const owner = bytesToHex(identity.publicKey);
    return {
      putImmutable: async (bytes) => {
        const key = codeHashOf(bytes);
        this.immutable.set(key, bytes.slice());
        return key;
      },
      getImmutable: async (key) => this.immutable.get(key)?.slice() ?? null,
      putSigned: async (name, value) => {
        this.signed.set(`${owner}/${name}`, structuredClone(value));
      },
      getSigned: async (publicKey, name) => {
        const v = this.signed.get(`${bytesToHex(publicKey)}/${name}`);
        return v === undefined ? null : structuredClone(v);
      },
    };
  }
}
