// `npm run component -- keygen --out <keyfile>`
// `npm run component -- publish <file> --room <room> --key <keyfile> [--signal ws://…] [--out <dir>]`
// Bundles a component (esbuild, when the file imports anything), reads its name, version and
// interfaces from its default export, signs the manifest and publishes code, manifest and version list.
// With --out the records go into a directory (a file-backed code store); without it, through a Node
// peer (a full node over @roamhq/wrtc) that joins the room through the signaling server, writes the
// records (each acknowledged by W replicas), rolls the version out to the nodes that run the
// component, tells the room with a signed release notice, and leaves.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { exportIdentity, importIdentity, createIdentity, type Identity } from '../src/core/identity.ts';
import { cryptoRng } from '../src/core/rng.ts';
import { codeHashOf, type ManifestFields } from '../src/components/manifest.ts';
import { publishComponent, readManifestFields } from '../src/components/publish.ts';
import type { CodeStorePort } from '../src/components/registry.ts';
import SimplePeer from 'simple-peer';
import wrtc from '@roamhq/wrtc';
import WebSocket from 'ws';
import { systemClock } from '../src/core/clock.ts';
import { ed25519Scheme } from '../src/core/identity.ts';
import { errorMessage } from '../src/core/errors.ts';
import { SelfmeshNode } from '../src/node.ts';
import { NodeComponents, codeStorePort } from '../src/node/components.ts';
import { MemoryStore } from '../src/storage/memory-store.ts';
import { ServerBootstrap } from '../src/transport/server-bootstrap.ts';
import { SignalingClient, type WebSocketConstructor } from '../src/transport/signaling-client.ts';
import { WebrtcConnector, type SimplePeerConstructor } from '../src/transport/webrtc-connector.ts';

function usage(): never {
  console.error(
    'usage:\n  npm run component -- keygen --out <keyfile>\n' +
      '  npm run component -- publish <file> --room <room> --key <keyfile> [--signal ws://127.0.0.1:4444] [--out <dir>]',
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

interface PeerPublish {
  room: string;
  signal: string;
  identity: Identity;
  code: Uint8Array;
  fields: ManifestFields;
  /** How long to keep trying to reach a write quorum (the room may still be forming). */
  timeoutMs?: number;
}

/**
 * Joins the room as a short-lived full node (its own node key; the publisher key only signs), writes
 * the records, rolls the version out to the nodes that advertise the component, and leaves.
 */
export async function publishThroughNode(o: PeerPublish) {
  const clock = systemClock();
  const rng = cryptoRng();
  const self = createIdentity(rng);
  const connector = new WebrtcConnector({
    identity: self, scheme: ed25519Scheme, clock, SimplePeer: SimplePeer as unknown as SimplePeerConstructor, wrtc: wrtc as never,
  });
  const client = new SignalingClient({ url: o.signal, id: self.id, WebSocket: WebSocket as unknown as WebSocketConstructor, clock, rng });
  const node = new SelfmeshNode({
    identity: self, scheme: ed25519Scheme, clock, rng, connector, store: new MemoryStore(),
    bootstrap: (request) => bootstrap.request(request), overlay: { bootstrapLinks: 1 },
  });
  // Called only once the node joins, after this is set.
  const bootstrap: ServerBootstrap = new ServerBootstrap({
    client, connector: node.connector, room: o.room, id: self.id, clock, rng,
    onLink: (link) => node.overlay.addLink(link), wantLinks: 2, counters: node.counters,
    estimateSize: () => 1 + node.overlay.stats().links + node.overlay.stats().contacts,
    needsLinks: () => node.overlay.joined && node.overlay.links().length === 0,
  });
  const publisherHex = bytesToHex(o.identity.publicKey);
  const components = new NodeComponents(node, { trust: () => ({ trustedPublishers: [publisherHex] }), urlKind: 'data' });
  const deadline = clock.now() + (o.timeoutMs ?? 30_000);
  const pause = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
  try {
    bootstrap.start();
    while (!client.isOpen) {
      if (clock.now() > deadline) throw new Error(`cannot reach the signaling server at ${o.signal}`);
      await pause(50);
    }
    await node.start();
    for (let attempt = 1; ; attempt++) {
      try {
        // Each record is acknowledged by W replicas before the next is written.
        const { manifest } = await publishComponent(codeStorePort(node.storage, o.identity), o.identity, o.code, o.fields);
        const rollout = await components.swapRoom(manifest.name, manifest.version, false, o.identity);
        return {
          ok: true, room: o.room, name: manifest.name, version: manifest.version, codeHash: manifest.codeHash,
          publisher: publisherHex, attempts: attempt,
          swapped: rollout.outcomes.filter((x) => x.status === 'swapped').length, rolloutOk: rollout.ok,
        };
      } catch (e) {
        // A room of one cannot acknowledge a write; wait for members and try again.
        if (clock.now() > deadline) throw new Error(`publishing into ${o.room} failed: ${errorMessage(e)}`);
        await pause(500);
      }
    }
  } finally {
    components.stop();
    await node.leave().catch(() => undefined);
    bootstrap.stop();
    client.close();
  }
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
    if (!out) {
      const signal = flag(args, 'signal') ?? 'ws://127.0.0.1:4444';
      const result = await publishThroughNode({ room, signal, identity, code, fields });
      console.log(JSON.stringify(result));
      // wrtc keeps the process alive for seconds after its links closed.
      process.exit(result.ok ? 0 : 1);
    }
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
