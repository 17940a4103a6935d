// Room chat, version 1: plain text messages, kept in order of (time, id), shared with the room.
// Self-contained: loaded from a Blob or data: URL, it imports nothing and gets all it needs via ctx.

const MAX_MESSAGES = 1000;
const MAX_TEXT = 2000;

function isMessage(m) {
  return (
    m !== null &&
    typeof m === 'object' &&
    typeof m.id === 'string' &&
    m.id.length <= 128 &&
    typeof m.author === 'string' &&
    m.author.length <= 64 &&
    typeof m.text === 'string' &&
    m.text.length <= MAX_TEXT &&
    typeof m.at === 'number'
  );
}

function before(a, b) {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

export default {
  name: 'chat',
  version: '1.0.0',
  provides: ['chat'],
  requires: ['room'],
  stateVersion: 1,
  create(ctx) {
    let messages = [];
    let ids = new Set();
    let nextSeq = 0;

    // Keeps the list sorted and free of duplicates (a message may arrive twice by different paths).
    function add(m) {
      if (ids.has(m.id)) return false;
      const msg = { id: m.id, author: m.author, text: m.text, at: m.at };
      let i = messages.length;
      while (i > 0 && before(msg, messages[i - 1])) i--;
      messages.splice(i, 0, msg);
      ids.add(msg.id);
      if (messages.length > MAX_MESSAGES) ids.delete(messages.shift().id);
      ctx.emit('message', msg);
      return true;
    }

    return {
      start() {},
      stop() {},
      getState() {
        return { messages, nextSeq };
      },
      setState(state) {
        messages = Array.isArray(state?.messages) ? state.messages.filter(isMessage) : [];
        ids = new Set(messages.map((m) => m.id));
        nextSeq = Number.isInteger(state?.nextSeq) ? state.nextSeq : messages.length;
      },
      health() {
        return { ok: messages.every(isMessage) && ids.size === messages.length };
      },
      async send(author, text) {
        if (typeof author !== 'string' || typeof text !== 'string' || !text.trim())
          throw new Error('send(author, text) needs two strings');
        const m = {
          id: `${ctx.node.slice(0, 16)}-${nextSeq++}`,
          author: author.slice(0, 64),
          text: text.slice(0, MAX_TEXT),
          at: ctx.clock.now(),
        };
        add(m);
        await ctx.use('room').broadcast({ kind: 'chat', message: m });
        return m;
      },
      receive(payload) {
        if (payload?.kind === 'chat' && isMessage(payload.message)) add(payload.message);
      },
      history() {
        return messages.map((m) => ({ ...m }));
      },
    };
  },
};
