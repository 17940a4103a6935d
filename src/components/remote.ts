// Calls between nodes: the RemoteCaller over the overlay, and the handlers that serve such calls.
import * as v from 'valibot';
import { SelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { MethodTable } from '../transport/methods.ts';
import type { RemoteCaller } from './binding.ts';
import type { ComponentRuntime } from './runtime.ts';

export const COMPONENT_CALL = 'component.call';
export const COMPONENT_DESCRIBE = 'component.describe';
export const COMPONENT_SWAP = 'component.swap';

const NAME = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9._-]{0,63}$/));
export const componentCallSchema = v.object({
  component: NAME,
  method: v.pipe(v.string(), v.regex(/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/)),
  args: v.pipe(v.array(v.unknown()), v.maxLength(64)),
});
export const componentSwapSchema = v.object({
  component: NAME,
  /** A version to go to; without it, the newest a trusted publisher lists. */
  version: v.optional(v.pipe(v.string(), v.maxLength(64))),
  /** A rollback must say so: versions only go forward otherwise. */
  rollback: v.optional(v.boolean()),
});

/** `call` is the overlay's request (OverlayPort.call): direct link when there is one, routed otherwise. */
export function overlayRemoteCaller(
  call: (node: Id, method: string, body: unknown, options?: { timeoutMs?: number }) => Promise<unknown>,
  timeoutMs = 10_000,
): RemoteCaller {
  return {
    call: (node, component, method, args) =>
      call(node, COMPONENT_CALL, { component, method, args }, { timeoutMs }),
  };
}

/**
 * Serves other nodes: calls to components, describe(), and swap requests (so a room-wide upgrade is a
 * request to each node; each node still verifies the code against its room's trust policy).
 */
export function registerComponentMethods(methods: MethodTable, runtime: ComponentRuntime): void {
  methods.register(COMPONENT_CALL, componentCallSchema, (body, ctx) =>
    runtime.call(body.component, body.method, body.args, `node:${ctx.from}`),
  );
  methods.register(COMPONENT_DESCRIBE, v.any(), () => runtime.describe());
  methods.register(COMPONENT_SWAP, componentSwapSchema, async (body) => {
    if (body.rollback && !body.version)
      throw new SelfmeshError('REFUSED', 'a rollback must name its version');
    const report = body.rollback
      ? await runtime.rollback(body.component, body.version!)
      : await runtime.upgrade(body.component, body.version);
    return report;
  });
}
