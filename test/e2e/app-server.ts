// Builds the web app and serves it with the signaling server: shared by the e2e global setup and the
// benchmarks. The build goes to a fresh temporary directory, so concurrent runs do not clobber dist/.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { startSignalingServer, type SignalingServer } from '../../signaling/server.ts';

export async function buildApp(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'selfmesh-dist-'));
  await build({ logLevel: 'warn', build: { outDir, emptyOutDir: true, sourcemap: false } });
  return outDir;
}

/** The signaling server serving `dir`; closing it also removes `dir`. */
export async function startAppServer(dir: string): Promise<SignalingServer> {
  const server = await startSignalingServer({ host: '127.0.0.1', port: 0, serveDir: dir });
  return {
    ...server,
    stats: () => server.stats(),
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
