// Attribute controller: a component's configuration, readable by the instance and settable from outside.
import { SelfmeshError } from '../core/errors.ts';

export interface AttributeController {
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  list(): Record<string, unknown>;
}

export class Attributes implements AttributeController {
  private values = new Map<string, unknown>();

  constructor(
    initial: Record<string, unknown> = {},
    private readonly onChange: (name: string, value: unknown) => void = () => undefined,
  ) {
    for (const [k, v] of Object.entries(initial)) this.values.set(k, v);
  }

  get(name: string): unknown {
    return this.values.get(name);
  }

  set(name: string, value: unknown): void {
    // Attributes go into describe() JSON: only JSON-shaped values are accepted.
    if (!isJsonValue(value)) throw new SelfmeshError('BAD_MESSAGE', `attribute ${name} must be JSON data`);
    this.values.set(name, value);
    this.onChange(name, value);
  }

  list(): Record<string, unknown> {
    return Object.fromEntries([...this.values].sort(([a], [b]) => a.localeCompare(b)));
  }
}

function isJsonValue(value: unknown, depth = 0): boolean {
  if (depth > 16) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.values(value as object).every((v) => isJsonValue(v, depth + 1));
  return false;
}
