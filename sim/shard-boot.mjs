// The entry of a sharded simulation's thread: a worker does not inherit the parent's TypeScript loader,
// so it registers tsx before it loads the shard's code.
import { register } from 'tsx/esm/api';

register();
await import('./shard-worker.ts');
