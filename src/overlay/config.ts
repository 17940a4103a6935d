// Tunables of the overlay. The defaults were measured in the simulator (bench/overlay.ts).

export interface OverlayConfig {
  /** Hard bound on links (Chromium refuses more than 500 peer connections per page). */
  maxLinks: number;
  /** Above this many links, offers are refused unless the offerer fills a hole in our own table. */
  softMaxLinks: number;
  /** Maintenance closes links that neither end needs while the table holds more than this. */
  trimAboveLinks: number;
  /** Links to the closest nodes (by XOR); also the replica set of the storage layer. */
  neighbourhoodSize: number;
  /**
   * Bucket b (common prefix length b) is split into 2^slotBits(b) slots by the bits after bit b, and
   * one link is kept per slot: several well spread links per far bucket cut the hop count.
   */
  slotBits: (bucket: number) => number;
  /** Total time a routed message may take, origin to destination and back. */
  routeTimeoutMs: number;
  maxHops: number;
  /** Next hops tried (in order of closeness) before a node gives up on a message. */
  routeAttempts: number;
  /** Ids returned by a findClosest / join reply. */
  closestReplySize: number;
  /**
   * A link idle this long gets a ping (a missed one is repeated a timeout later). A crashed peer's link
   * closes by itself within 30 s (ICE consent freshness), so on far links a ping finds only a peer whose
   * link is up but which answers nothing (a hung tab): it can be rare.
   */
  pingIdleMs: number;
  pingTimeoutMs: number;
  /** Suspect a peer after this many missed pings AND this long without any traffic from it. */
  suspectMissedPings: number;
  suspectSilenceMs: number;
  /**
   * The same two for neighbour links. Neighbours are the replica holders: every second a silent crash
   * goes unnoticed there is a second in which a key has one replica fewer, so they are pinged more often
   * and suspected sooner. The silence stays above what a frozen or hidden tab may show (about 15 s).
   */
  neighbourPingIdleMs: number;
  neighbourSuspectSilenceMs: number;
  /**
   * And a neighbour's first unanswered ping was sent at least this long ago: nothing sent to a frozen tab
   * is answered, but the last thing heard from it may predate the freeze by a ping interval.
   */
  neighbourUnansweredMs: number;
  /** How often the failure detector looks at its links (it tolerates timers that run late). */
  detectorTickMs: number;
  /** How often maintenance runs (neighbourhood exchange, refilling buckets). */
  maintenanceMs: number;
  /** Bucket lookups per maintenance round (bounds the idle cost). */
  lookupsPerRound: number;
  /** Lookups running at once while joining. */
  joinParallelism: number;
  /** Links asked from the bootstrap (signaling server) when a node has none. */
  bootstrapLinks: number;
  /** After losing this share of links within one detector window, ask the bootstrap again. */
  massLossShare: number;
}

export const DEFAULT_OVERLAY_CONFIG: OverlayConfig = {
  maxLinks: 64,
  softMaxLinks: 56,
  trimAboveLinks: 40,
  neighbourhoodSize: 8,
  slotBits: (bucket) => (bucket < 2 ? 2 : bucket < 8 ? 1 : 0),
  routeTimeoutMs: 10_000,
  maxHops: 32,
  routeAttempts: 3,
  closestReplySize: 12,
  pingIdleMs: 60_000,
  pingTimeoutMs: 5_000,
  suspectMissedPings: 2,
  suspectSilenceMs: 30_000,
  neighbourPingIdleMs: 5_000,
  neighbourSuspectSilenceMs: 20_000,
  neighbourUnansweredMs: 16_000,
  detectorTickMs: 5_000,
  maintenanceMs: 30_000,
  lookupsPerRound: 2,
  joinParallelism: 4,
  bootstrapLinks: 2,
  massLossShare: 0.4,
};
