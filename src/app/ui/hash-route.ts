// Hash routing: the app is one static page, so the room travels in the fragment and never reaches
// the server that serves the page.
import { isValidRoomName } from './room-name.ts';

export type Route =
  | { kind: 'start' }
  | { kind: 'room'; room: string }
  | { kind: 'sim'; size: number; churn: boolean }
  | { kind: 'bad-room'; room: string }
  | { kind: 'bad-sim'; raw: string };

/** Largest simulated room the page attaches to; the view is built to stay usable up to here. */
export const MAX_SIM_NODES = 2000;

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const room = /^\/r\/(.*)$/.exec(path);
  if (room) {
    let name = room[1]!;
    try {
      name = decodeURIComponent(name);
    } catch {
      return { kind: 'bad-room', room: name };
    }
    return isValidRoomName(name) ? { kind: 'room', room: name } : { kind: 'bad-room', room: name };
  }
  // `#/sim/<n>/churn` keeps the simulated room moving (joins, leaves, crashes).
  const sim = /^\/sim\/([^/]*)(\/churn)?$/.exec(path);
  if (sim) {
    const size = /^[0-9]+$/.test(sim[1]!) ? Number(sim[1]) : NaN;
    return Number.isInteger(size) && size >= 1 && size <= MAX_SIM_NODES
      ? { kind: 'sim', size, churn: sim[2] !== undefined }
      : { kind: 'bad-sim', raw: sim[1]! };
  }
  return { kind: 'start' };
}

export function roomHash(room: string): string {
  return `#/r/${room}`;
}

/**
 * The link to share. It keeps the page's own origin and path, so served on a LAN address it works
 * from a phone on the same network.
 */
export function roomLink(location: { origin: string; pathname: string }, room: string): string {
  return `${location.origin}${location.pathname}${roomHash(room)}`;
}
