// What crosses between the threads of a sharded simulation (sim/sharded.ts): frames and closes on links
// whose ends are in different threads, the handshake of such a link, the stand-in server's relay of a
// first offer, and news of joined nodes. Every message names the simulated time it is due, at least one
// window ahead, so each thread can run a window alone and take the other's messages at the barrier.
import type { Id } from '../src/core/id.ts';
import type { Link, SignalEnvelope } from '../src/transport/link.ts';
import type { MemoryLink, MemoryNetwork, RemoteEnd, RemoteShards } from '../src/transport/memory-link.ts';
import type { Simulator } from './simulator.ts';

/** The least one-way link latency of the memory network: the length of the threads' lockstep windows. */
export const WINDOW_MS = 10;

/** The thread that runs node `id`: by its first byte, so Kademlia's near traffic stays in one thread. */
export function shardOf(id: Id, shards: number): number {
  return Math.floor((parseInt(id.slice(0, 2), 16) * shards) / 256);
}

/** One message between threads; tuples keep the structured clone small. */
export type CrossMessage =
  | ['f', number, number, Uint8Array]
  | ['c', number, number, string]
  | ['h', number, Id, Id, Link['via'], string, string, number, number]
  | ['r', number, number]
  | ['o', number, Id, Id, SignalEnvelope, number]
  | ['a', number, SignalEnvelope | null, number]
  | ['j', Id];

/** What the world of one thread does for the bridge: answer an offer relayed by the server, learn of a join. */
export interface ShardHost {
  answerServerOffer(to: Id, offer: SignalEnvelope): Promise<SignalEnvelope | null>;
  remoteJoined(id: Id): void;
}

class CrossEnd implements RemoteEnd {
  constructor(
    private readonly bridge: ShardBridge,
    private readonly linkId: number,
    private readonly shard: number,
  ) {}

  frame(at: number, frame: Uint8Array): void {
    // A view into a larger buffer would carry the whole buffer across.
    const own = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : frame.slice();
    this.bridge.send(this.shard, at, ['f', this.linkId, at, own]);
  }

  close(at: number, reason: string): void {
    this.bridge.send(this.shard, at, ['c', this.linkId, at, reason]);
    this.bridge.forgetLink(this.linkId);
  }
}

export class ShardBridge implements RemoteShards {
  /** Messages to each thread, sent at the next barrier. */
  private outbound: CrossMessage[][];
  /** Our ends of links that cross, by link id (the offerer's thread numbers them). */
  private links = new Map<number, MemoryLink>();
  private linkCount = 0;
  /** Handshakes we started, until the pair is up or refused. */
  private connecting = new Map<number, (end: MemoryLink | null, failure?: 'BAD_SIGNATURE' | 'UNREACHABLE') => void>();
  private relays = new Map<number, (answer: SignalEnvelope | null) => void>();
  private relayCount = 0;
  /** The end of the window running now: nothing sent may be due before it. */
  windowEnd = 0;
  /** Messages and frames that crossed, for the run's figures. */
  sentMessages = 0;
  /** Frames that came for a link this side has closed (as a closed data channel drops them). */
  framesForNoLink = 0;
  /** Messages refused for being due inside the running window (the first few). */
  readonly violations: string[] = [];

  constructor(
    readonly shard: number,
    readonly shards: number,
    private readonly network: MemoryNetwork,
    private readonly clock: Simulator,
    private readonly host: ShardHost,
  ) {
    this.outbound = Array.from({ length: shards }, () => []);
  }

  holds(id: Id): boolean {
    return shardOf(id, this.shards) !== this.shard;
  }

  /** Queues `message` for `shard`; `at` is when it acts there (news of a join acts at the barrier). */
  send(shard: number, at: number, message: CrossMessage): void {
    // A message due inside the window running now would arrive after its time: the run would depend on
    // the threads' timing. Latencies are at least the window, so this is a bug if it ever happens (an
    // action started from outside the simulation, between windows). The sender may swallow the throw
    // (a link's outbox does), so it is also kept, and the run reports it as an error.
    if (Math.ceil(at) < this.windowEnd) {
      const problem = `cross-thread message due at ${at}, before the window ends at ${this.windowEnd}`;
      if (this.violations.length < 5) this.violations.push(problem);
      throw new Error(problem);
    }
    this.outbound[shard]!.push(message);
    this.sentMessages++;
  }

  /** Tells every other thread that a node of ours joined. */
  announceJoined(id: Id): void {
    for (let s = 0; s < this.shards; s++) if (s !== this.shard) this.send(s, this.windowEnd, ['j', id]);
  }

  /** The batch for `shard`, emptied. */
  take(shard: number): CrossMessage[] {
    const batch = this.outbound[shard]!;
    this.outbound[shard] = [];
    return batch;
  }

  forgetLink(linkId: number): void {
    this.links.delete(linkId);
  }

  connect(
    offerer: Id, answerer: Id, via: Link['via'], offerFingerprint: string, answerFingerprint: string,
    done: (end: MemoryLink | null, failure?: 'BAD_SIGNATURE' | 'UNREACHABLE') => void,
  ): void {
    const oneWay = this.network.sampleLatency();
    const delay = this.network.handshakeMs(oneWay);
    // A refusal comes back at the end of the next window at the latest: our end must not open before.
    if (delay <= 2 * WINDOW_MS) throw new Error(`a link handshake of ${delay} ms is too short for windows of ${WINDOW_MS} ms`);
    const linkId = this.linkCount++ * this.shards + this.shard;
    const shard = shardOf(answerer, this.shards);
    const at = this.clock.now() + delay;
    this.send(shard, at, ['h', linkId, offerer, answerer, via, offerFingerprint, answerFingerprint, oneWay, at]);
    this.connecting.set(linkId, done);
    this.clock.setTimeout(() => {
      if (!this.connecting.delete(linkId)) return;
      const end = this.network.openRemoteEnd(offerer, answerer, via, oneWay, new CrossEnd(this, linkId, shard));
      if (end) this.links.set(linkId, end);
      done(end, end ? undefined : 'UNREACHABLE');
    }, delay);
  }

  /** The stand-in server carries `offer` to `to` in another thread and its answer back (null: none). */
  relayOffer(from: Id, to: Id, offer: SignalEnvelope, at: number): Promise<SignalEnvelope | null> {
    const id = this.relayCount++ * this.shards + this.shard;
    this.send(shardOf(to, this.shards), at, ['o', id, from, to, offer, at]);
    return new Promise((resolve) => this.relays.set(id, resolve));
  }

  /** Takes a batch from thread `from` at the barrier; each message acts at its time. */
  receive(from: number, batch: CrossMessage[]): void {
    const now = this.clock.now();
    for (const m of batch) {
      switch (m[0]) {
        case 'f': {
          const [, linkId, at, frame] = m;
          this.clock.setTimeout(() => {
            const end = this.links.get(linkId);
            if (end) this.network.deliverFromRemote(end, frame);
            else this.framesForNoLink++;
          }, at - now);
          break;
        }
        case 'c': {
          const [, linkId, at, reason] = m;
          this.clock.setTimeout(() => {
            const end = this.links.get(linkId);
            this.links.delete(linkId);
            end?.closeLocally(reason);
          }, at - now);
          break;
        }
        case 'h':
          this.onHandshake(from, m);
          break;
        case 'r': {
          const [, linkId, at] = m;
          const done = this.connecting.get(linkId);
          this.connecting.delete(linkId);
          if (done) this.clock.setTimeout(() => done(null, 'BAD_SIGNATURE'), at - now);
          break;
        }
        case 'o': {
          const [, id, , to, offer, at] = m;
          this.clock.setTimeout(() => {
            void this.host.answerServerOffer(to, offer).then((answer) => {
              const back = this.clock.now() + 2 * this.network.sampleLatency();
              this.send(from, back, ['a', id, answer, back]);
            });
          }, at - now);
          break;
        }
        case 'a': {
          const [, id, answer, at] = m;
          this.clock.setTimeout(() => {
            const resolve = this.relays.get(id);
            this.relays.delete(id);
            resolve?.(answer);
          }, at - now);
          break;
        }
        case 'j':
          this.host.remoteJoined(m[1]);
          break;
      }
    }
  }

  /**
   * The answerer's side of a handshake: the fingerprints must be the ones its answer signed (the "DTLS
   * handshake" of the memory connector), and then its end opens at the same time as the offerer's.
   */
  private onHandshake(from: number, m: Extract<CrossMessage, ['h', ...unknown[]]>): void {
    const [, linkId, offerer, answerer, via, offerFingerprint, answerFingerprint, oneWay, at] = m;
    const waiting = this.network.takeAnswer(offerFingerprint, answerer, answerFingerprint);
    if (!waiting) {
      this.send(from, this.windowEnd, ['r', linkId, this.windowEnd]);
      return;
    }
    this.clock.setTimeout(() => {
      const end = this.network.openRemoteEnd(answerer, offerer, via, oneWay, new CrossEnd(this, linkId, from));
      if (!end) return waiting.reject(new Error('answerer gone'));
      this.links.set(linkId, end);
      waiting.resolve(end);
    }, at - this.clock.now());
  }
}
