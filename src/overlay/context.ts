// What the parts of the overlay share: the node's parameters, its table, and a few callbacks into the
// façade. Each part (routing, signaling, join, failure detection, maintenance) gets this one object.
import type { Clock } from '../core/clock.ts';
import type { Counters } from '../core/counters.ts';
import type { Emitter } from '../core/emitter.ts';
import type { Id } from '../core/id.ts';
import type { Identity, SignatureScheme } from '../core/identity.ts';
import type { Rng } from '../core/rng.ts';
import type { Connector, Link } from '../transport/link.ts';
import type { MethodTable } from '../transport/methods.ts';
import type { OverlayConfig } from './config.ts';
import type { Contacts } from './contacts.ts';
import type { RoutingTable } from './routing-table.ts';

/** The phases of join(): its neighbourhood linked and stable (more may follow). */
export type JoinPhase = 'stable';

export interface OverlayEvents extends Record<string, unknown> {
  /** join() passed one of its phases (the app shows where a join's time goes). */
  joinPhase: { phase: JoinPhase };
  /** This node has joined: it is linked to its neighbourhood and has filled its buckets. */
  join: { id: Id; neighbours: Id[] };
  /** A peer left on purpose (it said so before closing its links). */
  leave: { id: Id };
  linkUp: { id: Id; via: Link['via'] };
  linkDown: { id: Id; reason: string };
  /** A peer stopped answering; a second opinion is being asked. */
  suspected: { id: Id };
  /** A suspected peer was confirmed unreachable (or its link closed and nobody can reach it). */
  dead: { id: Id };
  /** The set of closest linked nodes changed (the storage layer moves records on this). */
  neighbourhood: { neighbours: Id[]; added: Id[]; removed: Id[] };
}

export interface OverlayContext {
  readonly self: Id;
  readonly identity: Identity;
  readonly scheme: SignatureScheme;
  readonly connector: Connector;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly counters: Counters;
  readonly config: OverlayConfig;
  readonly table: RoutingTable;
  readonly contacts: Contacts;
  readonly methods: MethodTable;
  readonly events: Emitter<OverlayEvents>;
  /**
   * Takes a new open link into the table; false if it was refused (duplicate, full, stopped). `ready`:
   * what the link's signals said of readiness, so that no frame repeats it.
   */
  addLink(link: Link, ready?: ReadyTold): boolean;
  /** Closes and forgets the link to a peer. */
  dropLink(id: Id, reason: string): void;
  /** Tells the failure detector that a request to this peer failed. */
  reportFailure(id: Id): void;
  /** Counts a dropped message under `overlay.dropped.<reason>`. */
  drop(reason: string): void;
  readonly running: boolean;
  /** Joined: past join(), so responsible for keys. */
  readonly joined: boolean;
}

/** What a link's signals carried: whether we said we have joined, and whether the peer did. */
export interface ReadyTold {
  we: boolean;
  they: boolean;
  /** Whether the answering end needs the link, as its answer said (see `Peer.theyNeed`; true if absent). */
  answererNeeds?: boolean;
  /** Set on the answering end: this is the end that answered (so its answer told `answererNeeds`). */
  answered?: boolean;
}
