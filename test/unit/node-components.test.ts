// The component runtime on real nodes (overlay, storage, broadcast, routed calls) over in-memory links:
// code and version lists in the DHT, chat over the room broadcast, trading through storage records,
// room-wide rollout and rollback, and refusals of untrusted publishers.
import { readFileSync } from 'node:fs';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { createIdentity, ed25519Scheme, type Identity } from '../../src/core/identity.ts';
import { seededRng } from '../../src/core/rng.ts';
import { readManifestFields } from '../../src/components/publish.ts';
import { SelfmeshNode } from '../../src/node.ts';
import { NodeComponents, codeStorePort, currentRecord } from '../../src/node/components.ts';
import { MemoryStore } from '../../src/storage/memory-store.ts';
import type { Bootstrap } from '../../src/overlay/overlay.ts';
import { MemoryConnector } from '../../src/transport/memory-connector.ts';
import { MemoryNetwork } from '../../src/transport/memory-link.ts';
import type { Link } from '../../src/transport/link.ts';
import { macrotask } from './helpers/components.ts';

const clock = systemClock();
const rng = seededRng(606);
const publisher = createIdentity(rng);
const stranger = createIdentity(rng);
const trust = () => ({ trustedPublishers: [bytesToHex(publisher.publicKey)] });
const code = (f: string) => new Uint8Array(readFileSync(new URL(`../../src/components/shipped/${f}`, import.meta.url)));

type Msg = { id: string; text: string; color?: string };
const network = new MemoryNetwork({ clock, rng, latencyMs: () => 2, jitterMs: 0 });
const connectors = new Map<string, MemoryConnector>();
const nodes: SelfmeshNode[] = [];
const comps: NodeComponents[] = [];

/** The stand-in signaling server: offer from `self`, answer from each target, links on both sides. */
function bootstrapFor(self: Identity): Bootstrap {
  return async ({ count, targets }) => {
    const picks = (targets ?? nodes.map((n) => n.id)).filter((id) => id !== self.id).slice(0, count);
    const links = await Promise.all(
      picks.map(async (to): Promise<Link | null> => {
        const offer = await connectors.get(self.id)!.offer(to, 'server');
        try {
          const answered = await connectors.get(to)!.answer(offer.envelope, 'server');
          answered.link.then((l) => nodes.find((n) => n.id === to)!.overlay.addLink(l), () => undefined);
          connectors.get(self.id)!.complete(answered.envelope);
          return await offer.link;
        } catch {
          offer.cancel();
          return null;
        }
      }),
    );
    return links.filter((l): l is Link => l !== null);
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = clock.now() + ms;
  while (!(await check())) {
    if (clock.now() > end) throw new Error(`not reached within ${ms} ms: ${what}`);
    await macrotask();
  }
}

const versionOf = (c: NodeComponents) => c.runtime.get('chat')?.version;

beforeAll(async () => {
  for (let i = 0; i < 4; i++) {
    const identity = createIdentity(rng);
    network.addNode(identity.id);
    const connector = new MemoryConnector({ network, identity, scheme: ed25519Scheme, clock, rng: seededRng(i + 1) });
    connectors.set(identity.id, connector);
    const node = new SelfmeshNode({
      identity, scheme: ed25519Scheme, clock, rng: seededRng(100 + i), connector,
      store: new MemoryStore(), bootstrap: bootstrapFor(identity),
    });
    nodes.push(node);
    await node.start();
    comps.push(new NodeComponents(node, { trust, urlKind: 'data', advertiseMs: 500 }));
  }
}, 30_000);

afterAll(() => {
  for (const c of comps) c.stop();
  for (const n of nodes) n.stop();
});

describe('components on real nodes', () => {
  it('publishes chat v1 to the DHT once and every node loads it from there', async () => {
    const fields = await readManifestFields(code('chat-v1.js'));
    await comps[0]!.ensure('chat', { source: code('chat-v1.js'), fields, publisher });
    // The others have no key the room trusts: they find v1 in the DHT.
    await Promise.all(comps.slice(1).map((c) => c.ensure('chat', { source: code('chat-v1.js'), fields, publisher: stranger }, undefined, 50)));
    expect(comps.map(versionOf)).toEqual(['1.0.0', '1.0.0', '1.0.0', '1.0.0']);
    expect(await comps[3]!.registry.versions(publisher.publicKey, 'chat')).toEqual(['1.0.0']);
    expect(nodes[2]!.summary.local().components).toEqual([{ name: 'chat', version: '1.0.0' }]);

    for (const [i, c] of comps.entries()) await c.runtime.call('chat', 'send', [`n${i}`, `hello ${i}`]);
    await until(async () => {
      const h = await Promise.all(comps.map((c) => c.runtime.call('chat', 'history') as Promise<Msg[]>));
      return h.every((x) => x.length === 4);
    }, 'every node has the 4 messages');
  });

  it('advertises under the interface; findProviders filters by version range', async () => {
    await until(async () => (await comps[1]!.trader.findProviders('chat', '^1.0.0')).length === 4, '4 providers of chat ^1');
    expect(await comps[1]!.trader.findProviders('chat', '>=2.0.0')).toEqual([]);
  });

  it('refuses to publish with a key the room does not trust', async () => {
    const fields = await readManifestFields(code('chat-v2.js'));
    await expect(comps[2]!.publish(stranger, code('chat-v2.js'), fields)).rejects.toThrow(/does not trust/);
    expect(await comps[2]!.registry.versions(stranger.publicKey, 'chat')).toEqual([]);
  });

  it('publishes v2 and rolls it out to the whole room, history kept; then rolls back by name', async () => {
    const fields = await readManifestFields(code('chat-v2.js'));
    const { manifest, rollout } = await comps[1]!.publish(publisher, code('chat-v2.js'), fields);
    expect(manifest.version).toBe('2.0.0');
    expect(rollout.ok).toBe(true);
    await until(() => comps.every((c) => versionOf(c) === '2.0.0'), 'all on 2.0.0');
    const h = (await comps[3]!.runtime.call('chat', 'history')) as Msg[];
    expect(h.map((m) => m.text).sort()).toEqual(['hello 0', 'hello 1', 'hello 2', 'hello 3']);
    expect(h.every((m) => typeof m.color === 'string')).toBe(true);
    await until(async () => (await comps[0]!.trader.findProviders('chat', '^2.0.0')).length === 4, '4 providers of chat ^2');

    // Forward only, unless a rollback names the version.
    await expect(comps[0]!.swapHere('chat', '1.0.0')).rejects.toThrow(/not newer/);
    const back = await comps[0]!.swapRoom('chat', '1.0.0', true, publisher);
    expect(back.ok).toBe(true);
    await until(() => comps.every((c) => versionOf(c) === '1.0.0'), 'all back on 1.0.0');
    expect(((await comps[2]!.runtime.call('chat', 'history')) as Msg[]).length).toBe(4);
  });

  it('a version that fails its health check stops the rollout on the canary; the room stays as it was', async () => {
    const broken = new TextDecoder()
      .decode(code('chat-v2.js'))
      .replace("version: '2.0.0'", "version: '3.0.0'")
      .replace(/health\(\) \{/, "health() { return { ok: false, detail: 'broken on purpose' };");
    const source = new TextEncoder().encode(broken);
    const { rollout } = await comps[2]!.publish(publisher, source, await readManifestFields(source));
    expect(rollout.ok).toBe(false);
    expect(rollout.outcomes).toHaveLength(1);
    expect(rollout.outcomes[0]!.error).toMatch(/health check failed: broken on purpose/);
    expect(comps.map(versionOf)).toEqual(['1.0.0', '1.0.0', '1.0.0', '1.0.0']);
    // Another node can still be asked, one at a time, and refuses the same way.
    const other = comps.findIndex((c) => c.node.id !== rollout.outcomes[0]!.node);
    const report = await comps[2]!.swapOn(comps[other]!.node.id, 'chat', '3.0.0');
    expect(report.ok).toBe(false);
    expect(versionOf(comps[other]!)).toBe('1.0.0');
  });

  it('a release notice signed by an untrusted key changes nothing', async () => {
    nodes[0]!.broadcaster.send('component/notice', {
      kind: 'release', name: 'chat', version: '2.0.0', publisher: bytesToHex(stranger.publicKey), signature: '00',
    });
    await comps[3]!.runtime.call('chat', 'send', ['n3', 'after']);
    await until(async () => ((await comps[0]!.runtime.call('chat', 'history')) as Msg[]).length === 5, 'message after the notice');
    expect(comps.map(versionOf)).toEqual(['1.0.0', '1.0.0', '1.0.0', '1.0.0']);
  });

  it('nodes that missed a notice follow the room’s current version on their next sync', async () => {
    expect(await comps[1]!.roomCurrent('chat')).toBe('1.0.0'); // recorded by the rollback above
    // Recorded without any notice (as if every notice were lost).
    await codeStorePort(nodes[0]!.storage, publisher).putSigned(currentRecord('chat'), { name: 'chat', version: '2.0.0' });
    await Promise.all(comps.map((c) => c.sync()));
    expect(comps.map(versionOf)).toEqual(['2.0.0', '2.0.0', '2.0.0', '2.0.0']);
    // A swap asked for on one node alone stays until the room's current version changes again.
    await comps[3]!.swapHere('chat', '1.0.0', true);
    await comps[3]!.sync();
    expect(versionOf(comps[3]!)).toBe('1.0.0');
  });
});
