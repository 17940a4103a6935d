import { describe, expect, it } from 'vitest';
import { isValidRoomName, randomRoomName, roomFromInput, roomNameProblem } from '../../src/app/ui/room-name.ts';
import { parseRoute, roomLink } from '../../src/app/ui/hash-route.ts';
import { seededRng } from '../../src/core/rng.ts';

describe('room names', () => {
  it('accepts lowercase letters, digits and hyphens, 3 to 64 long, not starting with a hyphen', () => {
    for (const ok of ['abc', 'amber-otter-42', '0ab', 'a'.repeat(64), 'a--b']) expect(isValidRoomName(ok)).toBe(true);
    for (const bad of ['', 'ab', '-abc', 'Abc', 'a b c', 'a_b_c', 'a'.repeat(65), 'ümlaut', 'abc/def']) {
      expect(isValidRoomName(bad)).toBe(false);
      expect(roomNameProblem(bad)).not.toBeNull();
    }
    expect(roomNameProblem('amber-otter-42')).toBeNull();
  });

  it('generates readable valid names, and different ones', () => {
    const rng = seededRng(42);
    const names = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const name = randomRoomName((n) => rng.int(n));
      expect(name).toMatch(/^[a-z]+-[a-z]+-[1-9][0-9]$/);
      expect(isValidRoomName(name)).toBe(true);
      names.add(name);
    }
    expect(names.size).toBeGreaterThan(190);
    expect(isValidRoomName(randomRoomName())).toBe(true);
  });

  it('reads a room from a pasted link or name', () => {
    expect(roomFromInput('  Amber-Otter-42 ')).toBe('amber-otter-42');
    expect(roomFromInput('http://192.168.1.5:4173/#/r/amber-otter-42')).toBe('amber-otter-42');
    expect(roomFromInput('#/r/x-y-z')).toBe('x-y-z');
  });
});

describe('hash routes', () => {
  it('parses start, room, sim and bad input', () => {
    expect(parseRoute('')).toEqual({ kind: 'start' });
    expect(parseRoute('#/')).toEqual({ kind: 'start' });
    expect(parseRoute('#/r/amber-otter-42')).toEqual({ kind: 'room', room: 'amber-otter-42' });
    expect(parseRoute('#/r/Bad Name')).toEqual({ kind: 'bad-room', room: 'Bad Name' });
    expect(parseRoute('#/r/%E0%A4%A')).toEqual({ kind: 'bad-room', room: '%E0%A4%A' });
    expect(parseRoute('#/sim/64')).toEqual({ kind: 'sim', size: 64, churn: false });
    expect(parseRoute('#/sim/1000/churn')).toEqual({ kind: 'sim', size: 1000, churn: true });
    expect(parseRoute('#/sim/0').kind).toBe('bad-sim');
    expect(parseRoute('#/sim/abc').kind).toBe('bad-sim');
  });

  it('builds the link from the page origin and path', () => {
    expect(roomLink({ origin: 'http://192.168.1.5:4173', pathname: '/' }, 'amber-otter-42')).toBe(
      'http://192.168.1.5:4173/#/r/amber-otter-42',
    );
  });
});
