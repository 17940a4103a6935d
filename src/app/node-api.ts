// What the web app (and `window.selfmesh`) sees of a running node. The real node (src/node.ts) and a
// node inside a simulated room both provide it, so the views work on either.
import type { Id } from '../core/id.ts';
import type { JoinPhase } from '../overlay/context.ts';

export type JoinStep = 'signaling' | 'first-link' | 'joined' | 'table-filled';

export type { JoinPhase };

export interface JoinProgress {
  step: JoinStep | 'error';
  /** Steps done so far, in order. */
  done: JoinStep[];
  /** When each step was done, in ms since the epoch (performance.timeOrigin-based in a tab). */
  times: Partial<Record<JoinStep, number>>;
  /** When the overlay's join passed each of its phases (its neighbourhood stable), for where a join's time goes. */
  phases?: Partial<Record<JoinPhase, number>>;
  error?: { kind: 'server-unreachable' | 'webrtc-unavailable' | 'bad-room' | 'other'; message: string };
}

export interface LinkInfo {
  id: Id;
  via: 'server' | 'overlay' | 'direct';
  rttMs: number | null;
  openedAt: number;
}

export interface NodeStats {
  uptimeMs: number;
  links: number;
  linksViaServer: number;
  linksViaOverlay: number;
  /** Live links per bucket index (common prefix length), index = bucket. */
  bucketFill: number[];
  records: number;
  recordBytes: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  counters: Record<string, number>;
}

/** What a node tells about itself when the topology view asks it through the overlay. */
export interface NodeSummary {
  id: Id;
  links: Id[];
  records: number;
  load: number;
  components?: Array<{ name: string; version: string }>;
}

export interface RoomEvent {
  at: number;
  kind: 'join' | 'leave' | 'link-up' | 'link-down' | 'suspected' | 'dead' | 'put' | 'error' | 'info';
  node?: Id;
  text: string;
}

export interface RouteResult {
  key: Id;
  /** Node ids from this node to the responsible node, both included. */
  path: Id[];
  responsible: Id;
}

export interface NodeApi {
  readonly id: Id;
  readonly room: string;
  readonly startedAt: number;
  progress(): JoinProgress;
  links(): LinkInfo[];
  stats(): NodeStats;
  /** Subscribes to room events seen by this node; returns an unsubscribe function. */
  onEvent(listener: (event: RoomEvent) => void): () => void;
  route(key: Id): Promise<RouteResult>;
  /** Asks a node (through the overlay) for its summary; bounded by a timeout. */
  inspect(node: Id): Promise<NodeSummary>;
  put(key: string, value: unknown): Promise<{ key: Id; holders: Id[] }>;
  get(key: string): Promise<{ key: Id; value: unknown; holders: Id[] } | null>;
  /** The nodes that hold replicas of a key (the r closest live nodes). */
  holders(key: string): Promise<Id[]>;
  leave(): Promise<void>;
  /** Sends a small message to every node of the room through the overlay; resolves with its id. */
  broadcast?(payload: unknown): Promise<string>;
  /** When this node first received the broadcast with that id (ms since the epoch), or null. */
  broadcastSeenAt?(id: string): number | null;
  /** The node's component runtime (real nodes only). */
  componentService?: ComponentService;
}

/** A component running on this node, as the app shows it. */
export interface ComponentInfo {
  name: string;
  version: string;
  state: string;
  provides: string[];
  load: number;
}

export interface ChatMessage {
  id: string;
  author: string;
  text: string;
  at: number;
  /** Chat 2 only: the author's colour and the reactions. */
  color?: string;
  reactions?: Record<string, string[]>;
}

export interface ComponentOutcome {
  ok: boolean;
  text: string;
  name?: string;
  version?: string;
}

/** The node's components: list, publish, swap (here or room-wide), and the chat component. */
export interface ComponentService {
  list(): ComponentInfo[];
  /** Called on installs, swaps and log entries; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  log(): Array<{ at: number; ok: boolean; text: string }>;
  /** Publisher keys (hex) the room trusts, and this tab's key if the room trusts it. */
  trusted(): string[];
  publisherKey(): string | null;
  /** Components shipped with this build, which this tab can publish. */
  shipped(): Array<{ name: string; version: string }>;
  /** Versions of `name` that trusted publishers list, oldest first. */
  available(name: string): Promise<string[]>;
  publishShipped(name: string, version: string): Promise<ComponentOutcome>;
  /** Publishes a self-contained ES module (its default export says what it is). */
  publishSource(source: string): Promise<ComponentOutcome>;
  /** Swaps here (`node`), room-wide (`room`), or on the node with that id. */
  swap(name: string, version: string | undefined, options: { rollback?: boolean; scope: 'node' | 'room' | Id }): Promise<ComponentOutcome>;
  /** Trading: the nodes that advertise `iface` in a version range, least loaded first. */
  providers(iface: string, range?: string): Promise<Array<{ node: Id; component: string; version: string; load: number }>>;
  chat: {
    send(text: string): Promise<ChatMessage>;
    history(): Promise<ChatMessage[]>;
    react(id: string, emoji: string): Promise<boolean>;
    onMessage(listener: () => void): () => void;
  };
}
