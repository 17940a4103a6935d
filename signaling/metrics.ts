// Counters for /health, /metrics and benchmarks ("server frames per join" = framesOut / joins).
// Label sets are closed (known frame types, known reasons), so a client cannot grow them.

import { ERROR_REASONS, FRAME_TYPES, type ErrorReason, type FrameType } from './protocol.ts';

/** 'refused' counts frames answered with an error (bad, over a limit, or rate-limited). */
export type InType = FrameType | 'refused';
export type OutType = 'publish' | 'pong' | 'error';
export const REJECT_REASONS = ['max-connections', 'max-connections-per-address', 'shutting-down'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
export const DROP_REASONS = ['too-many-errors', 'keepalive-timeout', 'slow-consumer'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

const zeros = <K extends string>(keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export class Metrics {
  readonly startedAt = Date.now();
  framesIn = 0;
  framesOut = 0;
  errors = 0;
  connectionsAccepted = 0;
  readonly framesInByType = zeros<InType>([...FRAME_TYPES, 'refused']);
  readonly framesOutByType = zeros<OutType>(['publish', 'pong', 'error']);
  readonly errorsByReason = zeros<ErrorReason>(ERROR_REASONS);
  readonly rejectedByReason = zeros<RejectReason>(REJECT_REASONS);
  readonly droppedByReason = zeros<DropReason>(DROP_REASONS);

  frameIn(type: InType): void {
    this.framesIn++;
    this.framesInByType[type]++;
  }

  frameOut(type: OutType, n = 1): void {
    this.framesOut += n;
    this.framesOutByType[type] += n;
  }

  error(reason: ErrorReason): void {
    this.errors++;
    this.errorsByReason[reason]++;
  }

  rejected(reason: RejectReason): void {
    this.rejectedByReason[reason]++;
  }

  dropped(reason: DropReason): void {
    this.droppedByReason[reason]++;
  }

  uptimeSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }
}

export interface Gauges {
  connections: number;
  topics: number;
  subscriptions: number;
}

/** Prometheus text exposition format, version 0.0.4. */
export function renderPrometheus(m: Metrics, g: Gauges): string {
  const out: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  const labelled = (label: string, rec: Record<string, number>): [string, number][] =>
    Object.entries(rec).map(([k, val]) => [`{${label}="${k}"}`, val]);

  metric('selfmesh_signaling_connections', 'gauge', 'Open WebSocket connections.', [['', g.connections]]);
  metric('selfmesh_signaling_topics', 'gauge', 'Topics (rooms) with at least one subscriber.', [['', g.topics]]);
  metric('selfmesh_signaling_subscriptions', 'gauge', 'Connection-topic subscriptions.', [['', g.subscriptions]]);
  metric('selfmesh_signaling_uptime_seconds', 'gauge', 'Seconds since the server started.', [['', m.uptimeSeconds()]]);
  metric('selfmesh_signaling_connections_accepted_total', 'counter', 'WebSocket connections accepted.', [
    ['', m.connectionsAccepted],
  ]);
  metric(
    'selfmesh_signaling_connections_rejected_total',
    'counter',
    'WebSocket upgrades refused, by reason.',
    labelled('reason', m.rejectedByReason),
  );
  metric(
    'selfmesh_signaling_connections_dropped_total',
    'counter',
    'Connections closed by the server, by reason.',
    labelled('reason', m.droppedByReason),
  );
  metric('selfmesh_signaling_frames_in_total', 'counter', 'Frames received, by type.', labelled('type', m.framesInByType));
  metric('selfmesh_signaling_frames_out_total', 'counter', 'Frames sent, by type.', labelled('type', m.framesOutByType));
  metric('selfmesh_signaling_errors_total', 'counter', 'Frames refused, by reason.', labelled('reason', m.errorsByReason));
  return out.join('\n') + '\n';
}
