// Errors with a stable code, so that callers (and remote peers) can tell them apart.

export type ErrorCode =
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'CLOSED'
  | 'TOO_LARGE'
  | 'BAD_MESSAGE'
  | 'BAD_SIGNATURE'
  | 'UNREACHABLE'
  | 'NOT_RESPONSIBLE'
  | 'QUOTA'
  | 'STALE'
  | 'CONFLICT'
  | 'UNTRUSTED'
  | 'REFUSED'
  | 'INTERNAL';

export class SelfmeshError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'SelfmeshError';
  }
}

export function isSelfmeshError(e: unknown, code?: ErrorCode): e is SelfmeshError {
  return e instanceof SelfmeshError && (code === undefined || e.code === code);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
