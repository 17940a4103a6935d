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

/**
 * Codes that are the network's normal answers (a peer refused, went away, timed out), not bugs. They
 * are made by the thousand under churn, and a stack trace (walked through every awaiting promise)
 * says nothing about them, so they carry none.
 */
const EXPECTED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['TIMEOUT', 'CANCELLED', 'CLOSED', 'UNREACHABLE', 'NOT_RESPONSIBLE', 'REFUSED', 'STALE', 'CONFLICT']);

type ErrorWithLimit = ErrorConstructor & { stackTraceLimit?: number };

export class SelfmeshError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    const limit = (Error as ErrorWithLimit).stackTraceLimit;
    if (EXPECTED.has(code)) (Error as ErrorWithLimit).stackTraceLimit = 0;
    try {
      super(message, options);
    } finally {
      (Error as ErrorWithLimit).stackTraceLimit = limit;
    }
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
