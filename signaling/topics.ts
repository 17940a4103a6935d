// Topic (room) registry: topic → subscribers and connection → topics, kept in step so that
// both "relay to a room" and "forget a closed connection" are cheap. Empty entries are deleted,
// so memory follows live subscriptions only (the y-webrtc reference server leaks on unsubscribe).

export class TopicRegistry<C> {
  private readonly byTopic = new Map<string, Set<C>>();
  private readonly byConn = new Map<C, Set<string>>();

  /** Number of topics with at least one subscriber. */
  get topicCount(): number {
    return this.byTopic.size;
  }

  /** Number of (connection, topic) pairs. */
  get subscriptionCount(): number {
    let n = 0;
    for (const topics of this.byConn.values()) n += topics.size;
    return n;
  }

  topicsOf(conn: C): ReadonlySet<string> {
    return this.byConn.get(conn) ?? EMPTY;
  }

  /** How many topics `conn` would hold after subscribing to `topics` (for the limit check). */
  countAfterSubscribe(conn: C, topics: readonly string[]): number {
    const current = this.byConn.get(conn);
    let n = current?.size ?? 0;
    const seen = new Set<string>();
    for (const t of topics) {
      if (seen.has(t) || current?.has(t)) continue;
      seen.add(t);
      n++;
    }
    return n;
  }

  subscribe(conn: C, topic: string): void {
    let subs = this.byTopic.get(topic);
    if (!subs) this.byTopic.set(topic, (subs = new Set()));
    subs.add(conn);
    let mine = this.byConn.get(conn);
    if (!mine) this.byConn.set(conn, (mine = new Set()));
    mine.add(topic);
  }

  unsubscribe(conn: C, topic: string): void {
    const subs = this.byTopic.get(topic);
    if (subs) {
      subs.delete(conn);
      if (subs.size === 0) this.byTopic.delete(topic);
    }
    const mine = this.byConn.get(conn);
    if (mine) {
      mine.delete(topic);
      if (mine.size === 0) this.byConn.delete(conn);
    }
  }

  /** Drops every subscription of a connection (on close). */
  removeConnection(conn: C): void {
    const mine = this.byConn.get(conn);
    if (!mine) return;
    for (const topic of [...mine]) this.unsubscribe(conn, topic);
  }

  subscribers(topic: string): ReadonlySet<C> | undefined {
    return this.byTopic.get(topic);
  }
}

const EMPTY: ReadonlySet<string> = new Set();
