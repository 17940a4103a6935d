// Requests to nodes this node has no link to. They travel through the overlay to the target's id, and
// are signed by the caller so that the target knows who asks (routed messages pass through other
// nodes, which could otherwise claim any origin). The signature covers target, method, body, time and
// the caller's sequence number, and the target accepts each (caller, time, sequence) once: a node on the
// route cannot play a call again (a rollout after its rollback, a component call twice).
import * as v from 'valibot';
import type { Clock } from '../core/clock.ts';
import { encode } from '../core/codec.ts';
import type { Counters } from '../core/counters.ts';
import { SelfmeshError } from '../core/errors.ts';
import { isId, type Id } from '../core/id.ts';
import { checkSignature, type Identity, type SignatureScheme } from '../core/identity.ts';
import type { Overlay } from '../overlay/overlay.ts';
import type { MethodTable } from '../transport/methods.ts';
import type { Link } from '../transport/link.ts';
import { ReplayGuard } from '../transport/replay-guard.ts';

export const ROUTED_CALL = 'node.call';
const MAX_SKEW_MS = 2 * 60_000;
/** Calls remembered at once (each for up to twice the skew): well above what a node is sent in that time. */
export const MAX_REMEMBERED_CALLS = 50_000;

const RoutedCallBody = v.object({
  target: v.custom<Id>(isId),
  method: v.pipe(v.string(), v.maxLength(64)),
  body: v.unknown(),
  publicKey: v.pipe(v.instance(Uint8Array), v.length(32)),
  time: v.number(),
  /** The caller's count of its calls: with time, what makes two identical calls two. */
  seq: v.pipe(v.number(), v.integer(), v.minValue(0)),
  signature: v.pipe(v.instance(Uint8Array), v.maxLength(128)),
});

function signedBytes(target: Id, method: string, body: unknown, time: number, seq: number): Uint8Array {
  return encode(['selfmesh/call/2', target, method, body, time, seq]);
}

/** Stands in for a link in the call context of a routed call: there is none to use. */
function noLink(from: Id): Link {
  return {
    remoteId: from,
    via: 'overlay',
    isOpen: false,
    bufferedAmount: 0,
    send: () => {
      throw new SelfmeshError('CLOSED', 'a routed call has no link');
    },
    close: () => undefined,
    on: () => () => undefined,
  };
}

export class RoutedCalls {
  private seq = 0;
  private readonly seen = new ReplayGuard(MAX_SKEW_MS, MAX_REMEMBERED_CALLS, 'routed call');

  constructor(
    private readonly overlay: Overlay,
    private readonly methods: MethodTable,
    private readonly identity: Identity,
    private readonly scheme: SignatureScheme,
    private readonly clock: Clock,
    private readonly counters: Counters,
  ) {
    overlay.registerRouted(ROUTED_CALL, RoutedCallBody, (call) => this.onCall(call));
  }

  /** Calls a method on a node: locally, over a direct link, or routed and signed. */
  async call(node: Id, method: string, body: unknown, options: { timeoutMs?: number } = {}): Promise<unknown> {
    if (node === this.identity.id) return this.dispatch(node, method, body);
    if (this.overlay.isLinked(node)) return this.overlay.request(node, method, body, options);
    const time = this.clock.now();
    const seq = this.seq++;
    const signature = this.identity.sign(signedBytes(node, method, body, time, seq));
    const result = await this.overlay.route(
      node,
      { method: ROUTED_CALL, body: { target: node, method, body, publicKey: this.identity.publicKey, time, seq, signature } },
      options,
    );
    return result.reply;
  }

  private onCall(call: v.InferOutput<typeof RoutedCallBody>): Promise<unknown> {
    if (call.target !== this.identity.id) {
      // The target is gone (or never was): the route ended at the closest live node instead.
      throw new SelfmeshError('UNREACHABLE', `node ${call.target.slice(0, 8)} is not in the room`);
    }
    if (Math.abs(this.clock.now() - call.time) > MAX_SKEW_MS) throw new SelfmeshError('STALE', 'routed call too old');
    const bytes = signedBytes(call.target, call.method, call.body, call.time, call.seq);
    // Natively where the platform checks Ed25519 (a storage request waited 3 ms on the JavaScript check).
    const signed = checkSignature(this.scheme, call.publicKey, bytes, call.signature);
    return typeof signed === 'boolean' ? this.run(call, signed) : signed.then((ok) => this.run(call, ok));
  }

  private run(call: v.InferOutput<typeof RoutedCallBody>, signed: boolean): Promise<unknown> {
    if (!signed) {
      this.counters.inc('node.call.badSignature');
      throw new SelfmeshError('BAD_SIGNATURE', 'routed call with a bad signature');
    }
    const from = this.scheme.idOf(call.publicKey);
    // Only signed calls are remembered, so a forger cannot fill the table.
    try {
      this.seen.check({ from, kind: 'call', token: `${call.time}.${call.seq}`, time: call.time }, this.clock.now());
    } catch (e) {
      this.counters.inc('node.call.replayed');
      throw e;
    }
    return this.dispatch(from, call.method, call.body);
  }

  private async dispatch(from: Id, method: string, body: unknown): Promise<unknown> {
    const checked = this.methods.check(method, 'request', body);
    if (!checked.ok) throw new SelfmeshError('BAD_MESSAGE', checked.reason);
    return checked.handler(checked.body, { from, link: noLink(from) });
  }
}
