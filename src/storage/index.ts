// The storage layer's public surface, for the composition root (src/node.ts) and the app.
export { Storage, type Entry, type StorageOptions, type StorageStats } from './storage.ts';
export { DEFAULT_CONFIG, resolveConfig, type StorageConfig } from './config.ts';
export type { CasResult } from './cas.ts';
export type { StorageEvents, StorageMeters } from './context.ts';
export type { OverlayPort, OverlayPortEvents } from './overlay-port.ts';
export type { ReplicaStore } from './replica-store.ts';
export { MemoryStore } from './memory-store.ts';
export { IdbStore, databaseName, nodeIdOfDatabase } from './idb-store.ts';
export { holdNodeLock, nodeLockName, recoverOrphans, type LockManagerLike, type OrphanEnv, type OrphanReport } from './orphans.ts';
export { keyFor, immutableKey, signedKey, type DataRecord, type Version } from './records.ts';
