// `#/sim/<n>`: the page attaches to a simulated room as one of its nodes. For now the room is the
// in-page fake (fake-room.ts); the deterministic simulator (sim/) replaces it behind this function.
import { FakeRoom } from './fake-room.ts';
import type { NodeApi } from './node-api.ts';

export interface SimRoomOptions {
  /** Keep the room moving: every few seconds a node joins, leaves or crashes. */
  churn?: boolean;
}

export async function createSimRoom(size: number, options: SimRoomOptions = {}): Promise<NodeApi> {
  const room = new FakeRoom({ size, room: `sim-${size}` });
  const self = room.api(room.ids()[0]!);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const churn = () => {
    const others = room.ids().filter((id) => id !== self.id);
    const roll = Math.random();
    const victim = others[Math.floor(Math.random() * others.length)];
    // Joins slightly outweigh departures near the starting size, so the room hovers around it.
    if (roll < 0.45 || !victim || others.length < size * 0.8) room.addNode();
    else if (roll < 0.75) room.leave(victim);
    else room.crash(victim);
    timer = setTimeout(churn, 2500 + Math.random() * 2500);
  };
  if (options.churn) timer = setTimeout(churn, 3000);
  return {
    ...self,
    leave: async () => {
      clearTimeout(timer);
      await self.leave();
    },
  };
}
