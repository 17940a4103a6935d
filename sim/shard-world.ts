// The part of a simulated room that one thread runs in a sharded simulation: the nodes whose ids fall in
// its shard, over the same overlay code, memory network and stand-in server as a whole SimWorld. Links to
// the other threads' nodes, the server's relay to them, and who has joined there go through the bridge.
import { compareDistance, type Id } from '../src/core/id.ts';
import { createSimIdentity, type Identity } from '../src/core/identity.ts';
import { seededRng } from '../src/core/rng.ts';
import type { Link, SignalEnvelope } from '../src/transport/link.ts';
import type { MemoryConnector } from '../src/transport/memory-connector.ts';
import { ShardBridge, shardOf, type ShardHost } from './shard-bridge.ts';
import { SimWorld, type SimNode, type WorldOptions } from './world.ts';

/** Every node of the room, in join order, the same in every thread: identity and random seed. */
export interface Roster {
  identities: Identity[];
  seeds: number[];
}

export function makeRoster(seed: number, n: number): Roster {
  const rng = seededRng(seed);
  const identities: Identity[] = [];
  const seeds: number[] = [];
  for (let i = 0; i < n; i++) {
    identities.push(createSimIdentity(rng));
    seeds.push(rng.int(2 ** 32));
  }
  return { identities, seeds };
}

export class ShardWorld extends SimWorld implements ShardHost {
  readonly bridge: ShardBridge;
  /** Joined nodes of the other threads, as of the last barrier, in the order heard of. */
  private remoteJoinedIds: Id[] = [];
  /** Every joined node, here or there. */
  readonly joinedEverywhere = new Set<Id>();

  constructor(
    options: WorldOptions,
    readonly shard: number,
    readonly shards: number,
  ) {
    // Each thread its own random streams (network jitter, server picks), all drawn from the one seed.
    super({ ...options, seed: (options.seed + Math.imul(0x9e3779b9, shard + 1)) >>> 0 });
    this.bridge = new ShardBridge(shard, shards, this.network, this.sim, this);
    this.network.remote = this.bridge;
  }

  owns(id: Id): boolean {
    return shardOf(id, this.shards) === this.shard;
  }

  override startJoin(node: SimNode): Promise<void> {
    return super.startJoin(node).then(() => {
      if (!node.joined) return;
      this.joinedEverywhere.add(node.id);
      this.bridge.announceJoined(node.id);
    });
  }

  remoteJoined(id: Id): void {
    this.remoteJoinedIds.push(id);
    this.joinedEverywhere.add(id);
  }

  override trueClosest(key: Id): Id | undefined {
    let best = super.trueClosest(key);
    for (const id of this.remoteJoinedIds) if (best === undefined || compareDistance(key, id, best) < 0) best = id;
    return best;
  }

  protected override isMember(id: Id): boolean {
    return this.owns(id) ? super.isMember(id) : this.joinedEverywhere.has(id);
  }

  protected override joinedCount(): number {
    return this.liveJoined.length + this.remoteJoinedIds.length;
  }

  protected override randomJoinedId(): Id | undefined {
    const local = this.liveJoined.length;
    const all = local + this.remoteJoinedIds.length;
    if (all === 0) return undefined;
    const i = this.rng.int(all);
    return i < local ? this.liveJoined[i] : this.remoteJoinedIds[i - local];
  }

  protected override async serverLink(node: SimNode, connector: MemoryConnector, to: Id): Promise<Link | null> {
    if (this.owns(to)) return super.serverLink(node, connector, to);
    const offer = await connector.offer(to, 'server');
    const answer = await this.bridge.relayOffer(node.id, to, offer.envelope, this.sim.now() + 2 * this.network.sampleLatency());
    try {
      if (!answer) throw new Error('no answer');
      connector.complete(answer);
      return await offer.link;
    } catch {
      offer.cancel();
      return null;
    }
  }

  /** The server brought an offer from another thread to our node `to`: its answer, or null. */
  async answerServerOffer(to: Id, offer: SignalEnvelope): Promise<SignalEnvelope | null> {
    const target = this.nodes.get(to);
    if (!target?.alive) return null;
    try {
      const answered = await this.connectorOf(to)!.answer(offer, 'server');
      answered.link.then((link) => target.overlay.addLink(link), () => undefined);
      return answered.envelope;
    } catch {
      return null;
    }
  }
}
