// `npm run component -- keygen --out <keyfile>`
// `npm run component -- publish <file> --room <room> --key <keyfile> [--out <dir>]`
// Bundles a component (esbuild, when the file imports anything), reads its name, version and
// interfaces from its default export, signs the manifest and publishes code, manifest and version list.
// With --out the records go into a directory (a file-backed code store); without it, through a Node
// peer that joins the room (wired by the composition root; until then the command says so).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { exportIdentity, importIdentity, createIdentity, type Identity } from '../src/core/identity.ts';
import { cryptoRng } from '../src/core/rng.ts';
import { codeHashOf, type ManifestFields } from '../src/components/manifest.ts';
import { publishComponent, readManifestFields } from '../src/components/publish.ts';
import type { CodeStorePort } from '../src/components/registry.ts';

function usage(): never {
  console.error(
    'usage:\n  npm run component -- keygen --out <keyfile>\n' +
      '  npm run component -- publish <file> --room <room> --key <keyfile> [--out <dir>]',
  );
  process.exit(2);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Bundles only when needed, so a self-contained module is published byte for byte as written. */
export async function bundle(file: string): Promise<Uint8Array> {
  const source = readFileSync(file, 'utf8');
  if (!/^\s*import\s|^\s*export\s+[^;]*\sfrom\s|\bimport\s*\(/m.test(source))
    return new TextEncoder().encode(source);
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [file],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.contents;
}

/** A CodeStorePort on a directory: code/<sha256>.js and signed/<publisher>/<record>.json. */
export function directoryCodeStore(dir: string, identity: Identity): CodeStorePort {
  const signedPath = (publicKey: Uint8Array, name: string) =>
    join(dir, 'signed', bytesToHex(publicKey), `${name.replace(/[^a-z0-9._-]/gi, '_')}.json`);
  const write = (path: string, data: string | Uint8Array) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  };
  return {
    async putImmutable(bytes) {
      const key = codeHashOf(bytes);
      write(join(dir, 'code', `${key}.js`), bytes);
      return key;
    },
    async getImmutable(key) {
      const path = join(dir, 'code', `${key}.js`);
      return existsSync(path) ? new Uint8Array(readFileSync(path)) : null;
    },
    async putSigned(name, value) {
      write(signedPath(identity.publicKey, name), JSON.stringify(value, null, 2) + '\n');
    },
    async getSigned(publicKey, name) {
      const path = signedPath(publicKey, name);
      return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as unknown) : null;
    },
  };
}

/** Publishing through a live Node peer of the room; the composition root provides this. */
async function publishThroughNode(
  _room: string,
  _identity: Identity,
  _code: Uint8Array,
  _fields: ManifestFields,
): Promise<never> {
  throw new Error(
    'publishing through a Node peer needs the full node (src/node.ts), which is not composed yet; use --out <dir> for now',
  );
}

function loadKey(path: string): Identity {
  const stored = JSON.parse(readFileSync(path, 'utf8')) as { secretKey?: unknown };
  if (typeof stored.secretKey !== 'string' || !/^[0-9a-f]{64}$/.test(stored.secretKey))
    throw new Error(`${path} is not a key file (expected {"secretKey": "<64 hex>"}); make one with keygen`);
  return importIdentity({ secretKey: stored.secretKey });
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === 'keygen') {
    const out = flag(args, 'out') ?? usage();
    if (existsSync(out)) throw new Error(`${out} exists; refusing to overwrite a key`);
    const identity = createIdentity(cryptoRng());
    mkdirSync(dirname(resolve(out)), { recursive: true });
    writeFileSync(
      out,
      JSON.stringify({ ...exportIdentity(identity), publicKey: bytesToHex(identity.publicKey) }, null, 2) +
        '\n',
    );
    chmodSync(out, 0o600);
    console.log(JSON.stringify({ keyfile: out, publicKey: bytesToHex(identity.publicKey) }));
    return;
  }
  if (command === 'publish') {
    const file = args[0];
    const room = flag(args, 'room');
    const keyfile = flag(args, 'key');
    if (!file || file.startsWith('--') || !room || !keyfile) usage();
    const identity = loadKey(keyfile);
    const code = await bundle(file);
    const fields = await readManifestFields(code);
    const out = flag(args, 'out');
    if (!out) await publishThroughNode(room, identity, code, fields);
    else {
      const { manifest } = await publishComponent(directoryCodeStore(out, identity), identity, code, fields);
      const base = join(out, `${manifest.name}-${manifest.version}`);
      writeFileSync(`${base}.js`, code);
      writeFileSync(`${base}.manifest.json`, JSON.stringify({ room, manifest }, null, 2) + '\n');
      console.log(
        JSON.stringify({
          room,
          name: manifest.name,
          version: manifest.version,
          codeHash: manifest.codeHash,
          publisher: manifest.publisher,
          out: `${base}.js`,
        }),
      );
    }
    return;
  }
  usage();
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`component: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
