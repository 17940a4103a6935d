// State controller: take a component's state, give it back, and convert it between state formats.
import { SelfmeshError, errorMessage } from '../core/errors.ts';
import type { ComponentDefinition, ComponentInstance } from './define.ts';

export interface StateController {
  /** A copy of the instance's state, tagged with its format version. */
  get(): Promise<StateSnapshot>;
  set(snapshot: StateSnapshot): Promise<void>;
}

export interface StateSnapshot {
  stateVersion: number;
  state: unknown;
}

/** A deep copy, so a migration that edits in place cannot touch the state kept for a rollback. */
export function copyState(state: unknown): unknown {
  if (state === undefined || state === null || typeof state !== 'object') return state;
  try {
    return structuredClone(state);
  } catch (e) {
    throw new SelfmeshError('BAD_MESSAGE', `state cannot be copied: ${errorMessage(e)}`);
  }
}

export async function takeState(
  instance: ComponentInstance,
  def: { stateVersion: number },
): Promise<StateSnapshot> {
  const state = typeof instance.getState === 'function' ? await instance.getState() : undefined;
  return { stateVersion: def.stateVersion, state: copyState(state) };
}

export async function giveState(instance: ComponentInstance, snapshot: StateSnapshot): Promise<void> {
  if (snapshot.state !== undefined && typeof instance.setState === 'function')
    await instance.setState(copyState(snapshot.state));
}

/**
 * Converts a snapshot into the format of `to`. Forward: `to.migrate(state, fromVersion)`. Backward (a
 * rollback): `from.downgrade(state, to.stateVersion)`, else `to.migrate` if it claims to handle it.
 */
export function migrateState(
  snapshot: StateSnapshot,
  from: ComponentDefinition,
  to: ComponentDefinition,
): StateSnapshot {
  const fromVersion = snapshot.stateVersion;
  if (fromVersion === to.stateVersion || snapshot.state === undefined)
    return { stateVersion: to.stateVersion, state: copyState(snapshot.state) };
  const input = copyState(snapshot.state);
  let out: unknown;
  if (fromVersion > to.stateVersion && from.downgrade) out = from.downgrade(input, to.stateVersion);
  else if (to.migrate) out = to.migrate(input, fromVersion);
  else
    throw new SelfmeshError(
      'REFUSED',
      `${to.name}@${to.version} cannot read state version ${fromVersion} (it has no migration from it)`,
    );
  if (out instanceof Promise) throw new SelfmeshError('REFUSED', `${to.name}: migrate must be synchronous`);
  return { stateVersion: to.stateVersion, state: out };
}
