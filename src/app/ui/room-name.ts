// Room names: what the link carries after `#/r/`. Kept to a small, URL-safe alphabet so a name reads
// the same in a link, a QR code and a signaling topic.
import { ADJECTIVES, ANIMALS } from './words.ts';

export const ROOM_NAME = /^[a-z0-9][a-z0-9-]{2,63}$/;

export function isValidRoomName(name: string): boolean {
  return ROOM_NAME.test(name);
}

/** Why a name is refused, in words a person can act on; null when it is fine. */
export function roomNameProblem(name: string): string | null {
  if (name.length === 0) return 'Enter a room name.';
  if (name.length < 3) return 'A room name has at least 3 characters.';
  if (name.length > 64) return 'A room name has at most 64 characters.';
  if (!/^[a-z0-9]/.test(name)) return 'A room name starts with a lowercase letter or a digit.';
  if (!ROOM_NAME.test(name)) return 'Use only lowercase letters, digits and hyphens.';
  return null;
}

/** Uniform integer in [0, n) from the platform's CSPRNG (rejection sampling: no modulo bias). */
export function cryptoInt(n: number): number {
  const buf = new Uint32Array(1);
  const limit = Math.floor(0x1_0000_0000 / n) * n;
  for (;;) {
    globalThis.crypto.getRandomValues(buf);
    if (buf[0]! < limit) return buf[0]! % n;
  }
}

/** A readable random name such as `amber-otter-42`. `randomInt` is injectable for tests. */
export function randomRoomName(randomInt: (n: number) => number = cryptoInt): string {
  const adjective = ADJECTIVES[randomInt(ADJECTIVES.length)]!;
  const animal = ANIMALS[randomInt(ANIMALS.length)]!;
  const number = 10 + randomInt(90);
  return `${adjective}-${animal}-${number}`;
}

/**
 * Accepts what people paste into "join": a bare name, `#/r/name`, or a whole room link.
 * Returns the name part, trimmed and lowercased (validation is separate).
 */
export function roomFromInput(input: string): string {
  const text = input.trim();
  const match = /#\/r\/([^/?#\s]*)/.exec(text);
  return (match ? decodeURIComponent(match[1]!) : text).toLowerCase();
}
