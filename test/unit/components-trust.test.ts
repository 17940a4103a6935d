import { readFileSync } from 'node:fs';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it, vi } from 'vitest';
import { createIdentity, ed25519Scheme } from '../../src/core/identity.ts';
import { seededRng } from '../../src/core/rng.ts';
import { ComponentLoader, defaultImporter } from '../../src/components/loader.ts';
import { signManifest, type Manifest } from '../../src/components/manifest.ts';
import { publishComponent, readManifestFields } from '../../src/components/publish.ts';
import { ComponentRegistry, MemoryCodeStore } from '../../src/components/registry.ts';
import { verifyComponent } from '../../src/components/trust.ts';

const rng = seededRng(7);
const publisher = createIdentity(rng);
const stranger = createIdentity(rng);
const trust = { trustedPublishers: [bytesToHex(publisher.publicKey)] };
const shipped = (f: string) => readFileSync(new URL(`../../src/components/shipped/${f}`, import.meta.url));
const chatV1 = new Uint8Array(shipped('chat-v1.js'));
const chatV2 = new Uint8Array(shipped('chat-v2.js'));

function setup() {
  const importer = vi.fn(defaultImporter);
  const loader = new ComponentLoader({ trust: () => trust, scheme: ed25519Scheme, importer });
  return { importer, loader };
}

async function signed(code: Uint8Array, who = publisher): Promise<Manifest> {
  return signManifest(who, await readManifestFields(code), code);
}

describe('trust: refused before import', () => {
  it('loads signed, untampered code from a trusted publisher', async () => {
    const { importer, loader } = setup();
    const { def, manifest } = await loader.load(await signed(chatV1), chatV1);
    expect(def).toMatchObject({
      name: 'chat',
      version: '1.0.0',
      provides: ['chat'],
      requires: ['room'],
      stateVersion: 1,
    });
    expect(manifest.publisher).toBe(trust.trustedPublishers[0]);
    expect(importer).toHaveBeenCalledTimes(1);
  });

  it('refuses tampered code', async () => {
    const { importer, loader } = setup();
    const manifest = await signed(chatV1);
    const tampered = chatV1.slice();
    tampered[tampered.length - 2]! ^= 1;
    await expect(loader.load(manifest, tampered)).rejects.toMatchObject({
      code: 'BAD_SIGNATURE',
      message: expect.stringMatching(/tampered/),
    });
    expect(importer).not.toHaveBeenCalled();
  });

  it('refuses a wrong signature, and a manifest edited after signing', async () => {
    const { importer, loader } = setup();
    const manifest = await signed(chatV1);
    const badSig = {
      ...manifest,
      signature: manifest.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')),
    };
    await expect(loader.load(badSig, chatV1)).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    const edited = { ...manifest, version: '9.9.9' };
    await expect(loader.load(edited, chatV1)).rejects.toMatchObject({
      code: 'BAD_SIGNATURE',
      message: expect.stringMatching(/signature/),
    });
    // A stranger's signature presented under the trusted key.
    const forged = { ...manifest, signature: (await signed(chatV1, stranger)).signature };
    await expect(loader.load(forged, chatV1)).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    expect(importer).not.toHaveBeenCalled();
  });

  it('refuses unsigned code', async () => {
    const { importer, loader } = setup();
    const { signature: _drop, ...unsigned } = await signed(chatV1);
    await expect(loader.load(unsigned, chatV1)).rejects.toMatchObject({
      code: 'BAD_SIGNATURE',
      message: expect.stringMatching(/unsigned/),
    });
    await expect(loader.load(null, chatV1)).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
    expect(importer).not.toHaveBeenCalled();
  });

  it('refuses a publisher the room does not trust', async () => {
    const { importer, loader } = setup();
    await expect(loader.load(await signed(chatV1, stranger), chatV1)).rejects.toMatchObject({
      code: 'UNTRUSTED',
      message: expect.stringMatching(/not trusted by this room/),
    });
    expect(importer).not.toHaveBeenCalled();
  });

  it('refuses a downgrade or a same-version reload unless a rollback names that version', async () => {
    const { importer, loader } = setup();
    const m1 = await signed(chatV1);
    await expect(loader.load(m1, chatV1, { current: '2.0.0' })).rejects.toMatchObject({ code: 'STALE' });
    await expect(loader.load(m1, chatV1, { current: '1.0.0' })).rejects.toMatchObject({ code: 'STALE' });
    await expect(loader.load(m1, chatV1, { current: '2.0.0', rollbackTo: '0.9.0' })).rejects.toMatchObject({
      code: 'STALE',
    });
    expect(importer).not.toHaveBeenCalled();
    const { def } = await loader.load(m1, chatV1, { current: '2.0.0', rollbackTo: '1.0.0' });
    expect(def.version).toBe('1.0.0');
    expect((await loader.load(await signed(chatV2), chatV2, { current: '1.0.0' })).def.version).toBe('2.0.0');
  });

  it('refuses code whose module declares something other than its manifest', async () => {
    const { loader } = setup();
    const fields = { ...(await readManifestFields(chatV1)), version: '1.0.5' };
    await expect(loader.load(signManifest(publisher, fields, chatV1), chatV1)).rejects.toMatchObject({
      code: 'REFUSED',
    });
  });

  it('checks hash before signature before trust', () => {
    const code = new TextEncoder().encode('export default {}');
    const m = signManifest(
      stranger,
      { name: 'x', version: '1.0.0', provides: [], requires: [], stateVersion: 1 },
      code,
    );
    expect(() => verifyComponent(trust, ed25519Scheme, m, new Uint8Array([1]))).toThrow(/tampered/);
    expect(() => verifyComponent(trust, ed25519Scheme, { ...m, signature: '00'.repeat(64) }, code)).toThrow(
      /signature/,
    );
    expect(() => verifyComponent(trust, ed25519Scheme, m, code)).toThrow(/not trusted/);
  });
});

describe('registry: code in the DHT', () => {
  it('publishes code, manifest and version list, and serves them back verified', async () => {
    const store = new MemoryCodeStore();
    await publishComponent(store.as(publisher), publisher, chatV1, await readManifestFields(chatV1));
    const { manifest } = await publishComponent(
      store.as(publisher),
      publisher,
      chatV2,
      await readManifestFields(chatV2),
    );
    expect(store.immutable.get(manifest.codeHash)).toEqual(chatV2);
    const registry = new ComponentRegistry(store.as(publisher));
    expect(await registry.versions(publisher.publicKey, 'chat')).toEqual(['1.0.0', '2.0.0']);
    expect(await registry.latest([stranger.publicKey, publisher.publicKey], 'chat')).toMatchObject({
      version: '2.0.0',
    });
    const { loader } = setup();
    const { def } = await loader.loadFrom(registry, publisher.publicKey, 'chat', '2.0.0', {
      current: '1.0.0',
    });
    expect(def.stateVersion).toBe(2);
  });

  it('refuses code that was changed in the store after publishing', async () => {
    const store = new MemoryCodeStore();
    const { manifest } = await publishComponent(
      store.as(publisher),
      publisher,
      chatV1,
      await readManifestFields(chatV1),
    );
    const bad = store.immutable.get(manifest.codeHash)!;
    bad[10]! ^= 1;
    const { importer, loader } = setup();
    await expect(
      loader.loadFrom(new ComponentRegistry(store.as(publisher)), publisher.publicKey, 'chat', '1.0.0'),
    ).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    expect(importer).not.toHaveBeenCalled();
  });

  it('finds nothing under a publisher that never published', async () => {
    const registry = new ComponentRegistry(new MemoryCodeStore().as(publisher));
    expect(await registry.versions(stranger.publicKey, 'chat')).toEqual([]);
    await expect(registry.fetch(stranger.publicKey, 'chat', '1.0.0')).rejects.toMatchObject({
      code: 'UNREACHABLE',
    });
  });
});
