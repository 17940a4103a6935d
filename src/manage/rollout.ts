// A room-wide swap: ask each node to upgrade (or roll back) a component, a canary share first, then
// the rest in batches; when a node fails, the nodes already done are rolled back if a version to go
// back to is given. Each node still verifies the code itself: a request cannot make it run more than
// what its room's trust policy allows.
import { errorMessage, isSelfmeshError } from '../core/errors.ts';
import type { Id } from '../core/id.ts';
import type { SwapReport } from '../components/hot-swap.ts';
import { COMPONENT_SWAP } from '../components/remote.ts';

export interface SwapRequest {
  component: string;
  version?: string;
  rollback?: boolean;
}

/** Sends a swap request to one node (the overlay's request to COMPONENT_SWAP, or a local runtime). */
export type SwapRequester = (node: Id, request: SwapRequest) => Promise<SwapReport>;

export interface RolloutPlan extends SwapRequest {
  /** Share of nodes that go first; the rest go only if all of them succeeded. */
  canaryShare?: number;
  /** Nodes swapped at once after the canaries. */
  batch?: number;
  /** The version to put back everywhere if any node fails. */
  rollbackTo?: string;
}

export interface NodeOutcome {
  node: Id;
  status: 'swapped' | 'skipped' | 'failed';
  report?: SwapReport;
  error?: string;
}

export interface RolloutResult {
  ok: boolean;
  outcomes: NodeOutcome[];
  rolledBack: NodeOutcome[];
}

export function overlaySwapRequester(
  call: (node: Id, method: string, body: unknown, options?: { timeoutMs?: number }) => Promise<unknown>,
  timeoutMs = 30_000,
): SwapRequester {
  return (node, request) => call(node, COMPONENT_SWAP, request, { timeoutMs }) as Promise<SwapReport>;
}

async function one(node: Id, request: SwapRequest, send: SwapRequester): Promise<NodeOutcome> {
  try {
    const report = await send(node, request);
    if (report.ok) return { node, status: 'swapped', report };
    return { node, status: 'failed', report, error: report.error?.message };
  } catch (e) {
    // STALE: the node already runs this version or a newer one; nothing to do there.
    if (isSelfmeshError(e, 'STALE') || (e as { code?: string })?.code === 'STALE')
      return { node, status: 'skipped', error: errorMessage(e) };
    return { node, status: 'failed', error: errorMessage(e) };
  }
}

export async function rollout(nodes: Id[], plan: RolloutPlan, send: SwapRequester): Promise<RolloutResult> {
  const order = [...new Set(nodes)].sort();
  const canaries = Math.max(1, Math.ceil(order.length * Math.min(1, Math.max(0, plan.canaryShare ?? 0.25))));
  const batch = Math.max(1, plan.batch ?? 8);
  const request: SwapRequest = { component: plan.component, version: plan.version, rollback: plan.rollback };
  const outcomes: NodeOutcome[] = [];
  const groups = [order.slice(0, canaries)];
  for (let i = canaries; i < order.length; i += batch) groups.push(order.slice(i, i + batch));
  for (const group of groups) {
    outcomes.push(...(await Promise.all(group.map((n) => one(n, request, send)))));
    if (outcomes.some((o) => o.status === 'failed')) break;
  }
  const ok = outcomes.length === order.length && outcomes.every((o) => o.status !== 'failed');
  let rolledBack: NodeOutcome[] = [];
  if (!ok && plan.rollbackTo) {
    const back = { component: plan.component, version: plan.rollbackTo, rollback: true };
    rolledBack = await Promise.all(
      outcomes.filter((o) => o.status === 'swapped').map((o) => one(o.node, back, send)),
    );
  }
  return { ok, outcomes, rolledBack };
}
