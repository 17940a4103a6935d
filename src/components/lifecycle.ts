// Lifecycle controller: start and stop a component. A stopped component's membrane refuses calls.

export type LifecycleState = 'installed' | 'starting' | 'started' | 'stopping' | 'stopped' | 'failed';

export interface LifecycleController {
  state(): LifecycleState;
  start(): Promise<void>;
  stop(): Promise<void>;
}
