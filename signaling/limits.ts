// What one client may cost the server. Every bound here exists so that nothing a client sends can
// make the server's CPU or memory grow without limit.
import { TokenBucket as ClockedTokenBucket } from '../src/core/token-bucket.ts';

export interface Limits {
  /** Largest text frame we process; bigger ones get an error (ws cuts at twice this). */
  maxFrameBytes: number;
  /** Topics (rooms) one connection may be subscribed to at once. */
  maxTopicsPerConnection: number;
  /** Longest topic name, in UTF-16 code units. */
  maxTopicLength: number;
  /** Sustained frames per second per connection (token bucket refill rate). */
  messagesPerSecond: number;
  /** Frames a connection may send in a burst (token bucket size). */
  messageBurst: number;
  /** Open connections from one remote address (64 tabs + a y-webrtc comparison fit in 256). */
  maxConnectionsPerAddress: number;
  /** Open connections in total. */
  maxConnections: number;
  /** Errors a connection may cause in a burst before it is disconnected. */
  maxErrors: number;
  /** Error allowance regained per second, so one rare mistake does not add up to a disconnect. */
  errorsForgivenPerSecond: number;
  /** Bytes queued for one slow receiver before we drop it instead of buffering more. */
  maxBufferedBytes: number;
  /** WebSocket ping period; a connection that has not answered the previous ping is dropped. */
  keepaliveMs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameBytes: 64 * 1024,
  maxTopicsPerConnection: 64,
  maxTopicLength: 256,
  messagesPerSecond: 50,
  messageBurst: 200,
  maxConnectionsPerAddress: 256,
  maxConnections: 4096,
  maxErrors: 50,
  errorsForgivenPerSecond: 1,
  maxBufferedBytes: 1024 * 1024,
  keepaliveMs: 30_000,
});

/** Defaults overridden by `partial`; throws on values that would disable a bound. */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const value = partial[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`limit ${key} must be a positive finite number, got ${String(value)}`);
    }
    limits[key] = value;
  }
  return limits;
}

/** The token bucket, reading the process's clock unless given one (the server is not simulated). */
export class TokenBucket extends ClockedTokenBucket {
  constructor(ratePerSecond: number, capacity: number, now: () => number = () => performance.now()) {
    super(ratePerSecond, capacity, now);
  }
}
