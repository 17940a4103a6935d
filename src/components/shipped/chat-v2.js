// Room chat, version 2: adds a colour per author and emoji reactions. It reads v1's history (migrate),
// can hand it back to v1 (downgrade, for a rollback), and still understands v1 peers during a rollout.

const MAX_MESSAGES = 1000;
const MAX_TEXT = 2000;
const REACTIONS = ['👍', '❤️', '😂', '🎉', '👀'];

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

/** A stable colour from the author's name (FNV-1a hash → hue), the same on every node. */
function colorOf(author) {
  let h = 0x811c9dc5;
  for (let i = 0; i < author.length; i++) h = Math.imul(h ^ author.charCodeAt(i), 0x01000193) >>> 0;
  return `hsl(${h % 360}, 65%, 42%)`;
}

function upgradeMessage(m) {
  const reactions = {};
  if (m.reactions && typeof m.reactions === 'object')
    for (const [emoji, who] of Object.entries(m.reactions))
      if (REACTIONS.includes(emoji) && Array.isArray(who))
        reactions[emoji] = who.filter((a) => typeof a === 'string').slice(0, 100);
  return { id: m.id, author: m.author, text: m.text, at: m.at, color: colorOf(m.author), reactions };
}

function before(a, b) {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

export default {
  name: 'chat',
  version: '2.0.0',
  provides: ['chat'],
  requires: ['room'],
  stateVersion: 2,
  migrate(old, fromStateVersion) {
    if (fromStateVersion !== 1) throw new Error(`chat 2 cannot migrate state version ${fromStateVersion}`);
    const messages = Array.isArray(old?.messages) ? old.messages.filter(isMessage).map(upgradeMessage) : [];
    return { messages, nextSeq: Number.isInteger(old?.nextSeq) ? old.nextSeq : messages.length };
  },
  downgrade(state, toStateVersion) {
    if (toStateVersion !== 1) throw new Error(`chat 2 cannot downgrade to state version ${toStateVersion}`);
    return {
      messages: state.messages.map((m) => ({ id: m.id, author: m.author, text: m.text, at: m.at })),
      nextSeq: state.nextSeq,
    };
  },
  create(ctx) {
    let messages = [];
    let byId = new Map();
    let nextSeq = 0;

    function add(m) {
      if (byId.has(m.id)) return false;
      const msg = upgradeMessage(m);
      let i = messages.length;
      while (i > 0 && before(msg, messages[i - 1])) i--;
      messages.splice(i, 0, msg);
      byId.set(msg.id, msg);
      if (messages.length > MAX_MESSAGES) byId.delete(messages.shift().id);
      ctx.emit('message', msg);
      return true;
    }

    function react(id, emoji, author) {
      const m = byId.get(id);
      if (!m || !REACTIONS.includes(emoji) || typeof author !== 'string') return false;
      const who = (m.reactions[emoji] ??= []);
      if (who.includes(author) || who.length >= 100) return false;
      who.push(author.slice(0, 64));
      ctx.emit('reaction', { id, emoji, author });
      return true;
    }

    return {
      start() {},
      stop() {},
      getState() {
        return { messages, nextSeq };
      },
      setState(state) {
        messages = Array.isArray(state?.messages) ? state.messages.filter(isMessage).map(upgradeMessage) : [];
        byId = new Map(messages.map((m) => [m.id, m]));
        nextSeq = Number.isInteger(state?.nextSeq) ? state.nextSeq : messages.length;
      },
      health() {
        const ok =
          messages.every((m) => isMessage(m) && typeof m.color === 'string') && byId.size === messages.length;
        return { ok, detail: ok ? undefined : 'history is inconsistent' };
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
        // Sent in v1's shape (plus extras v1 ignores), so nodes not yet upgraded still read it.
        await ctx.use('room').broadcast({ kind: 'chat', message: { ...m, reactions: {} } });
        return byId.get(m.id);
      },
      async react(id, emoji, author) {
        if (!react(id, emoji, author)) return false;
        await ctx.use('room').broadcast({ kind: 'react', id, emoji, author });
        return true;
      },
      receive(payload) {
        if (payload?.kind === 'chat' && isMessage(payload.message)) add(payload.message);
        else if (payload?.kind === 'react' && typeof payload.id === 'string')
          react(payload.id, payload.emoji, payload.author);
      },
      history() {
        return messages.map((m) => ({ ...m, reactions: { ...m.reactions } }));
      },
      reactions() {
        return [...REACTIONS];
      },
    };
  },
};
