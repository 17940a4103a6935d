// Recursive greedy routing by XOR distance: a message for key K goes to the linked node closest to K
// until no linked node is closer; that node is responsible for K and answers. The reply travels back
// along the same path. Every hop must get strictly closer to K, so a loop is impossible, and the hop
// limit bounds what a forged message can cost.
import * as v from 'valibot';
import type { TimerHandle } from '../core/clock.ts';
import { SelfmeshError, errorMessage, isSelfmeshError } from '../core/errors.ts';
import { compareDistance, type Id } from '../core/id.ts';
import type { OverlayContext } from './context.ts';
import type { Peer } from './routing-table.ts';
import { MAX_SKIP, METHOD, RouteAck, RouteMessage, RouteReply } from './messages.ts';

export interface RoutedContext {
  key: Id;
  /** The node that started the message (as it claims; not authenticated). */
  origin: Id;
  hops: number;
  /** The linked peer that handed the message over (authenticated), or undefined at the origin. */
  from: Id | undefined;
}

export type RoutedHandler<T> = (body: T, ctx: RoutedContext) => unknown | Promise<unknown>;

export interface RouteOptions {
  timeoutMs?: number;
  maxHops?: number;
  /** Never pick this node as next hop or destination (a node looking up its own id). */
  avoid?: Id;
  /** Send the first hop to this linked peer even if it is not the closest (to reach past a split). */
  firstHop?: Id;
}

export interface RouteResult {
  reply: unknown;
  /** Nodes passed after the origin, ending with the responsible one; empty if the origin was responsible. */
  path: Id[];
  /** The node responsible for the key that answered. */
  responder: Id;
  hops: number;
}

/** Next hops to pass over (found silent on this trip); made only once there is one. */
interface Skip {
  ids: Set<Id> | undefined;
}

interface Routed {
  schema: v.GenericSchema<unknown, unknown>;
  handler: RoutedHandler<unknown>;
}

/** Time a hop keeps for itself to hear back from the next one and retry elsewhere. */
const HOP_MARGIN_MS = 200;
/** A live next hop acknowledges within a round trip; silence this long means it is probably gone. */
const ACK_TIMEOUT_MS = 1_500;
/** Time a hop keeps back from the next one to go around it if it fails late. */
const HOP_RESERVE_MS = 2_000;
/**
 * A hop acknowledges only if its answer is not sent by then: most answers come back sooner and stand for
 * the acknowledgement, which saves a frame per hop. Well below ACK_TIMEOUT_MS, with a link's latency on top.
 */
const ACK_DELAY_MS = 300;

export class Router {
  private routed = new Map<string, Routed>();
  /** Hops sent and not yet acknowledged, by nonce: who must acknowledge, and the timer that gives up. */
  private acks = new Map<number, { from: Id; timer: TimerHandle }>();
  private nonce = 0;

  constructor(private readonly ctx: OverlayContext) {
    ctx.methods.register(METHOD.route, RouteMessage, (msg, call) => this.onRoute(msg, call.from));
    ctx.methods.registerNotify(METHOD.routeAck, RouteAck, (ack, call) => this.onAck(ack.nonce, call.from));
  }

  /**
   * Sends one hop of msg (one more hop taken, `ttl` left, `skip` passed over); rejects with TIMEOUT early
   * if the hop does not acknowledge. The hop's message is built here in one object: this runs for every
   * hop of every routed message.
   */
  private sendHop(peer: Peer, msg: RouteMessage, ttl: number, skip: Id[] | undefined, budget: number): Promise<unknown> {
    const { clock } = this.ctx;
    // Nonces are unique per node, so they key the pending acks alone; the ack's sender is checked.
    const nonce = this.nonce++;
    const hop: RouteMessage = {
      key: msg.key, method: msg.method, body: msg.body, origin: msg.origin, hops: msg.hops + 1, maxHops: msg.maxHops,
      ttl, avoid: msg.avoid, skip, nonce,
    };
    return new Promise((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        this.acks.delete(nonce);
        reject(new SelfmeshError('TIMEOUT', 'hop did not acknowledge'));
      }, Math.min(ACK_TIMEOUT_MS, budget));
      this.acks.set(nonce, { from: peer.id, timer });
      // (No named closures: the build names each one it makes, and this runs for every hop.)
      peer.rpc.request(METHOD.route, hop, { timeoutMs: budget + HOP_MARGIN_MS / 2, relayed: true }).then(
        (reply) => {
          this.hopSettled(nonce, timer);
          resolve(reply);
        },
        (e: unknown) => {
          this.hopSettled(nonce, timer);
          reject(e);
        },
      );
    });
  }

  private hopSettled(nonce: number, timer: TimerHandle): void {
    if (this.acks.get(nonce)?.timer === timer) this.acks.delete(nonce);
    this.ctx.clock.clearTimeout(timer);
  }

  private onAck(nonce: number, from: Id): void {
    const pending = this.acks.get(nonce);
    if (!pending || pending.from !== from) return;
    this.acks.delete(nonce);
    this.ctx.clock.clearTimeout(pending.timer);
  }

  /** A method delivered at the node responsible for a key. */
  register<T>(method: string, schema: v.GenericSchema<unknown, T>, handler: RoutedHandler<T>): void {
    if (this.routed.has(method)) throw new Error(`routed method ${method} registered twice`);
    this.routed.set(method, { schema, handler: handler as RoutedHandler<unknown> });
  }

  /** Routes from this node; retries once (with the failed hops now suspected) before giving up. */
  async route(key: Id, method: string, body: unknown, options: RouteOptions = {}): Promise<RouteResult> {
    const { config, clock, self } = this.ctx;
    const deadline = clock.now() + (options.timeoutMs ?? config.routeTimeoutMs);
    const maxHops = options.maxHops ?? config.maxHops;
    let last: RouteReply | undefined;
    // Next hops that did not acknowledge the first attempt are passed over by the second.
    const skip: Skip = { ids: undefined };
    for (let attempt = 0; attempt < 2 && clock.now() < deadline - HOP_MARGIN_MS; attempt++) {
      const msg: RouteMessage = { key, method, body, origin: self, hops: 0, maxHops, ttl: deadline - clock.now(), avoid: options.avoid };
      last = await this.step(msg, undefined, deadline, options.firstHop, skip);
      if (last.ok) {
        const responder = last.path[last.path.length - 1] ?? self;
        return { reply: last.reply, path: last.path, responder, hops: last.path.length };
      }
      if (last.code !== 'UNREACHABLE' && last.code !== 'TIMEOUT' && last.code !== 'CLOSED') break;
    }
    const failure = last && !last.ok ? last : { code: 'TIMEOUT', message: 'no time left' };
    throw new SelfmeshError(failure.code as 'UNREACHABLE', `route to ${key.slice(0, 8)}: ${failure.message}`);
  }

  private async onRoute(msg: RouteMessage, from: Id): Promise<RouteReply> {
    const { counters, self, clock } = this.ctx;
    if (msg.hops > msg.maxHops) {
      this.ctx.drop('hops');
      throw new SelfmeshError('BAD_MESSAGE', `hop count ${msg.hops} above its limit ${msg.maxHops}`);
    }
    if (msg.avoid === self) {
      this.ctx.drop('avoided');
      throw new SelfmeshError('BAD_MESSAGE', 'routed to the node it avoids');
    }
    // Greedy routing only ever moves closer; after the first hop, a message from a closer node is forged
    // or looping. (The first hop may be chosen freely by the origin, to reach past a split.)
    if (msg.hops > 1 && compareDistance(msg.key, from, self) < 0) {
      this.ctx.drop('regress');
      throw new SelfmeshError('BAD_MESSAGE', 'routed away from its key');
    }
    const nonce = msg.nonce;
    const ackTimer = nonce === undefined ? undefined : clock.setTimeout(() => {
      this.ctx.table.get(from)?.rpc.notify(METHOD.routeAck, { nonce });
    }, Math.min(ACK_DELAY_MS, msg.ttl / 4));
    counters.inc('overlay.route.forwarded');
    // Most messages carry no skip list: no set is made for them.
    const skip: Skip = { ids: msg.skip && msg.skip.length > 0 ? new Set(msg.skip) : undefined };
    skip.ids?.delete(self);
    // An upstream hop found these silent: check our own links to them now (a faster detection).
    if (skip.ids) for (const id of skip.ids) if (this.ctx.table.has(id)) this.ctx.reportFailure(id);
    const answer = this.step(msg, from, clock.now() + msg.ttl, undefined, skip);
    if (ackTimer === undefined) return answer;
    answer.then(() => clock.clearTimeout(ackTimer), () => clock.clearTimeout(ackTimer));
    return answer;
  }

  /** Forwards to the closest live next hop (trying a few), or delivers here when none is closer. */
  private async step(msg: RouteMessage, from: Id | undefined, deadline: number, firstHop: Id | undefined, skip: Skip): Promise<RouteReply> {
    const { table, clock, config, self } = this.ctx;
    // A stopped node answers nothing (its emptied table would otherwise make it "responsible").
    if (!this.ctx.running) return { ok: false, code: 'CLOSED', message: 'node stopped', path: [] };
    const forced = firstHop ? table.get(firstHop) : undefined;
    const candidates = forced ? [forced] : table.nextHops(msg.key, config.routeAttempts, msg.avoid, skip.ids);
    if (candidates.length === 0) return this.deliver(msg, from);
    if (msg.hops + 1 > msg.maxHops) {
      this.ctx.drop('hop-limit');
      return { ok: false, code: 'UNREACHABLE', message: `hop limit ${msg.maxHops} reached`, path: [] };
    }
    let failure: RouteReply = { ok: false, code: 'UNREACHABLE', message: 'no next hop answered', path: [] };
    let failed: Set<Id> | undefined;
    for (const peer of candidates) {
      const remaining = deadline - clock.now();
      if (remaining <= HOP_MARGIN_MS) {
        failure = { ok: false, code: 'TIMEOUT', message: 'no time left', path: [] };
        break;
      }
      // The next hop gets a smaller budget, so that it answers (maybe with an error) before we give up
      // on it, and we still have time to try another.
      const budget = Math.max(remaining * 0.5, Math.min(remaining - HOP_MARGIN_MS, remaining - HOP_RESERVE_MS));
      try {
        const passOver = skip.ids && skip.ids.size > 0 ? [...skip.ids].slice(-MAX_SKIP) : undefined;
        const raw = await this.sendHop(peer, msg, Math.floor(budget), passOver, budget);
        const parsed = v.safeParse(RouteReply, raw);
        if (!parsed.success) {
          this.ctx.drop('bad-route-reply');
          continue;
        }
        const reply = parsed.output;
        const path = from === undefined ? reply.path : [self, ...reply.path];
        return { ...reply, path: path.slice(0, 64) };
      } catch (e) {
        if (isSelfmeshError(e, 'TIMEOUT') || isSelfmeshError(e, 'CLOSED')) {
          this.ctx.reportFailure(peer.id);
          (failed ??= new Set()).add(peer.id);
          (skip.ids ??= new Set()).add(peer.id);
        }
        this.ctx.counters.inc('overlay.route.hopFailed');
        failure = { ok: false, code: isSelfmeshError(e) ? e.code : 'INTERNAL', message: errorMessage(e).slice(0, 200), path: [] };
        if (isSelfmeshError(e, 'BAD_MESSAGE')) break;
      }
    }
    // Every closer peer we tried is gone (a crash not yet detected): if no other live link is closer,
    // this node is now the closest live one and answers itself.
    if (!forced && this.ctx.running && failed?.size === candidates.length && deadline - clock.now() > HOP_MARGIN_MS) {
      const others = table.nextHops(msg.key, 1, msg.avoid, skip.ids);
      if (others.length === 0) {
        this.ctx.counters.inc('overlay.route.deliveredAround');
        return this.deliver(msg, from);
      }
    }
    return failure;
  }

  private async deliver(msg: RouteMessage, from: Id | undefined): Promise<RouteReply> {
    const { self } = this.ctx;
    const here = from === undefined ? [] : [self];
    const routed = this.routed.get(msg.method);
    if (!routed) {
      this.ctx.drop('unknown-routed-method');
      return { ok: false, code: 'BAD_MESSAGE', message: `no routed method ${msg.method.slice(0, 64)}`, path: here };
    }
    const parsed = v.safeParse(routed.schema, msg.body);
    if (!parsed.success) {
      this.ctx.drop('bad-routed-body');
      return { ok: false, code: 'BAD_MESSAGE', message: `bad body for ${msg.method}`, path: here };
    }
    try {
      const reply = await routed.handler(parsed.output, { key: msg.key, origin: msg.origin, hops: msg.hops, from });
      return { ok: true, reply, path: here };
    } catch (e) {
      return { ok: false, code: isSelfmeshError(e) ? e.code : 'INTERNAL', message: errorMessage(e).slice(0, 200), path: here };
    }
  }
}
