// Four nodes in one process run chat v1 with some history; v2 is published and every node upgrades
// while messages keep flowing. The same scenario runs in real tabs end to end (test/e2e, later).
import { readFileSync } from 'node:fs';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { createIdentity, ed25519Scheme } from '../../src/core/identity.ts';
import { seededRng } from '../../src/core/rng.ts';
import { ComponentLoader } from '../../src/components/loader.ts';
import { publishComponent, readManifestFields } from '../../src/components/publish.ts';
import { ComponentRegistry, MemoryCodeStore } from '../../src/components/registry.ts';
import { deliverRoomMessage, roomTarget, type RoomBroadcastPort } from '../../src/components/room.ts';
import { ComponentRuntime } from '../../src/components/runtime.ts';
import { macrotask } from './helpers/components.ts';

const rng = seededRng(11);
const publisher = createIdentity(rng);
const trust = { trustedPublishers: [bytesToHex(publisher.publicKey)] };
const code = (f: string) =>
  new Uint8Array(readFileSync(new URL(`../../src/components/shipped/${f}`, import.meta.url)));

type Msg = { id: string; author: string; text: string; color?: string; reactions?: Record<string, string[]> };

async function room(n: number) {
  const store = new MemoryCodeStore();
  const registry = new ComponentRegistry(store.as(publisher));
  const loader = new ComponentLoader({ trust: () => trust, scheme: ed25519Scheme });
  const nodes: ComponentRuntime[] = [];
  // The room: each broadcast reaches the component of the same name on every other node, a macrotask later.
  const port = (self: ComponentRuntime): RoomBroadcastPort => ({
    broadcast: async (component, payload) => {
      for (const other of nodes)
        if (other !== self)
          setImmediate(() => void deliverRoomMessage(other, component, structuredClone(payload), self.node));
    },
  });
  for (let i = 0; i < n; i++) {
    const id = createIdentity(rng).id;
    nodes.push(
      new ComponentRuntime({ node: id, clock: systemClock(), registry, loader, trust: () => trust }),
    );
  }
  return { store, registry, nodes, port };
}

async function eventually(check: () => Promise<boolean>): Promise<void> {
  // Waits on the condition itself, a macrotask at a time, with a bound.
  for (let i = 0; i < 10_000; i++) {
    if (await check()) return;
    await macrotask();
  }
  throw new Error('condition not reached');
}

describe('chat v1 → v2 across a room', () => {
  it('upgrades every node, keeps the history and loses no message sent during the upgrade', async () => {
    const { store, nodes, port } = await room(4);
    await publishComponent(
      store.as(publisher),
      publisher,
      code('chat-v1.js'),
      await readManifestFields(code('chat-v1.js')),
    );
    for (const rt of nodes) {
      await rt.installFrom('chat', undefined, { bindings: { room: roomTarget('chat', port(rt), rt.node) } });
      await rt.start('chat');
    }
    for (const [i, rt] of nodes.entries()) await rt.call('chat', 'send', [`user${i}`, `hello from ${i}`]);
    const histories = async () =>
      Promise.all(nodes.map((rt) => rt.call('chat', 'history') as Promise<Msg[]>));
    let h: Msg[][] = [];
    const allHave = (pred: (x: Msg[]) => boolean) => async () => (h = await histories()).every(pred);
    await eventually(allHave((x) => x.length === 4));

    // Publish v2 from node 0, then every node upgrades while all of them keep sending.
    await publishComponent(
      store.as(publisher),
      publisher,
      code('chat-v2.js'),
      await readManifestFields(code('chat-v2.js')),
    );
    const sends: Promise<unknown>[] = [];
    const upgrades = nodes.map((rt) => rt.upgrade('chat'));
    for (let k = 0; k < 10; k++) {
      for (const [i, rt] of nodes.entries())
        sends.push(rt.call('chat', 'send', [`user${i}`, `during ${k} from ${i}`]));
      await macrotask();
    }
    const reports = await Promise.all(upgrades);
    expect(reports.map((r) => [r.ok, r.from, r.to])).toEqual(nodes.map(() => [true, '1.0.0', '2.0.0']));
    await Promise.all(sends);
    const total = 4 + 40;
    await eventually(allHave((x) => x.length === total));
    for (const hist of h) {
      expect(hist.map((m) => m.id)).toEqual(h[0]!.map((m) => m.id));
      expect(hist.every((m) => typeof m.color === 'string' && m.reactions)).toBe(true);
      expect(hist.filter((m) => m.text.startsWith('hello'))).toHaveLength(4);
    }
    expect(nodes.map((rt) => rt.list()[0]!.version)).toEqual(['2.0.0', '2.0.0', '2.0.0', '2.0.0']);

    // v2's visible addition works across the room; then a rollback by name keeps the history.
    const first = h[0]![0]!;
    await nodes[1]!.call('chat', 'react', [first.id, '🎉', 'user1']);
    await eventually(allHave((x) => x[0]!.reactions?.['🎉']?.[0] === 'user1'));
    await expect(nodes[0]!.upgrade('chat', '1.0.0')).rejects.toMatchObject({ code: 'STALE' });
    const back = await nodes[0]!.rollback('chat', '1.0.0');
    expect(back).toMatchObject({ ok: true, to: '1.0.0' });
    expect(((await nodes[0]!.call('chat', 'history')) as Msg[]).length).toBe(total);
  });
});
