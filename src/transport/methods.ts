// A node's table of RPC methods. Each method has a schema: what fails it never reaches the handler.
import * as v from 'valibot';
import type { Id } from '../core/id.ts';
import type { Link } from './link.ts';

export interface CallContext {
  /** The authenticated id of the calling node (the link's remote end). */
  from: Id;
  link: Link;
}

export type RequestHandler<T> = (body: T, ctx: CallContext) => unknown | Promise<unknown>;
export type NotifyHandler<T> = (body: T, ctx: CallContext) => void;

interface Entry {
  kind: 'request' | 'notify';
  schema: v.GenericSchema<unknown, unknown>;
  handler: (body: unknown, ctx: CallContext) => unknown;
}

export type Checked = { ok: true; body: unknown } | { ok: false; reason: string };

export class MethodTable {
  private entries = new Map<string, Entry>();

  register<T>(method: string, schema: v.GenericSchema<unknown, T>, handler: RequestHandler<T>): void {
    this.add(method, { kind: 'request', schema, handler: handler as Entry['handler'] });
  }

  registerNotify<T>(method: string, schema: v.GenericSchema<unknown, T>, handler: NotifyHandler<T>): void {
    this.add(method, { kind: 'notify', schema, handler: handler as Entry['handler'] });
  }

  unregister(method: string): void {
    this.entries.delete(method);
  }

  has(method: string): boolean {
    return this.entries.has(method);
  }

  /** Validates a body for a method; the handler is returned only for a body that passed. */
  check(
    method: string,
    kind: Entry['kind'],
    body: unknown,
  ): { ok: true; body: unknown; handler: Entry['handler'] } | { ok: false; reason: string } {
    const entry = this.entries.get(method);
    if (!entry || entry.kind !== kind) return { ok: false, reason: `unknown ${kind} method ${method}` };
    const result = v.safeParse(entry.schema, body);
    if (!result.success) {
      const issue = result.issues[0];
      const path = issue?.path?.map((p) => String(p.key)).join('.') ?? '';
      return { ok: false, reason: `${method}: ${path ? path + ': ' : ''}${issue?.message ?? 'invalid'}` };
    }
    return { ok: true, body: result.output, handler: entry.handler };
  }

  private add(method: string, entry: Entry): void {
    if (this.entries.has(method)) throw new Error(`method ${method} registered twice`);
    this.entries.set(method, entry);
  }
}
