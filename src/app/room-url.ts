// The room and the signaling server a page names in its URL. Its own file, so that each mode of
// main.ts reads them without loading the link lab's node (boot.ts).

const ROOM = /^[a-z0-9][a-z0-9-]{2,63}$/;
export const DEFAULT_ROOM = 'lobby';

/** `#/r/<room>`; anything else (or an invalid name) means the default room. */
export function roomFromHash(hash: string): { room: string; invalid: string | null } {
  const m = /^#\/r\/([^/?#]*)/.exec(hash);
  if (!m) return { room: DEFAULT_ROOM, invalid: null };
  const name = decodeURIComponent(m[1]!);
  return ROOM.test(name) ? { room: name, invalid: null } : { room: DEFAULT_ROOM, invalid: name };
}

/** `?signal=ws://host:port` wins, then the dev server's VITE_SIGNALING, then this origin. */
export function signalUrlFor(loc: Location): string {
  const override = new URLSearchParams(loc.search).get('signal');
  if (override && /^wss?:\/\//.test(override)) return override;
  const dev = (import.meta as unknown as { env?: Record<string, string | undefined> }).env?.VITE_SIGNALING;
  if (dev) return dev;
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/`;
}
