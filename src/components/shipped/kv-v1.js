// A shared key-value map for the room: last writer wins by (time, node), so every node converges to
// the same entries whatever order the updates arrive in. Self-contained; gets all it needs via ctx.

const MAX_KEYS = 1000;

function newer(a, b) {
  return !b || a.at > b.at || (a.at === b.at && a.node > b.node);
}

function isEntry(e) {
  return (
    e !== null &&
    typeof e === 'object' &&
    typeof e.key === 'string' &&
    e.key.length <= 128 &&
    typeof e.at === 'number' &&
    typeof e.node === 'string'
  );
}

export default {
  name: 'kv',
  version: '1.0.0',
  provides: ['kv'],
  requires: ['room'],
  stateVersion: 1,
  create(ctx) {
    let entries = new Map();

    function apply(e) {
      if (!isEntry(e) || !newer(e, entries.get(e.key))) return false;
      if (!entries.has(e.key) && entries.size >= MAX_KEYS) return false;
      entries.set(e.key, { key: e.key, value: e.value, at: e.at, node: e.node });
      ctx.emit('changed', { key: e.key, value: e.value });
      return true;
    }

    return {
      getState() {
        return { entries: [...entries.values()] };
      },
      setState(state) {
        entries = new Map();
        for (const e of Array.isArray(state?.entries) ? state.entries : [])
          if (isEntry(e)) entries.set(e.key, e);
      },
      health() {
        return entries.size <= MAX_KEYS;
      },
      async set(key, value) {
        if (typeof key !== 'string' || !key) throw new Error('set(key, value) needs a key');
        const e = { key, value: value === undefined ? null : value, at: ctx.clock.now(), node: ctx.node };
        apply(e);
        await ctx.use('room').broadcast({ kind: 'kv', entry: e });
        return true;
      },
      get(key) {
        return entries.get(key)?.value ?? null;
      },
      entries() {
        return Object.fromEntries(
          [...entries.values()].sort((a, b) => (a.key < b.key ? -1 : 1)).map((e) => [e.key, e.value]),
        );
      },
      async increment(key, by = 1) {
        const current = entries.get(key)?.value;
        const next = (typeof current === 'number' ? current : 0) + (typeof by === 'number' ? by : 1);
        await this.set(key, next);
        return next;
      },
      receive(payload) {
        if (payload?.kind === 'kv') apply(payload.entry);
      },
    };
  },
};
