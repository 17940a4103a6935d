// CLI: `npx tsx signaling/main.ts [--serve dist]`. HOST (default 127.0.0.1) and PORT (default 4444)
// come from the environment. Stops cleanly on SIGTERM/SIGINT: clients get 1001, exit code 0.

import { startSignalingServer } from './server.ts';

function parseArgs(argv: string[]): { serveDir?: string } {
  const out: { serveDir?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--serve') {
      const dir = argv[++i];
      if (!dir) throw new Error('--serve needs a directory');
      out.serveDir = dir;
    } else if (arg?.startsWith('--serve=')) {
      out.serveDir = arg.slice('--serve='.length);
    } else if (arg === '--help' || arg === '-h') {
      console.log('usage: tsx signaling/main.ts [--serve DIR]   (env: HOST, PORT)');
      process.exit(0);
    } else {
      throw new Error(`unknown argument: ${arg}`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const { serveDir } = parseArgs(process.argv.slice(2));
  const port = Number(process.env.PORT ?? 4444);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad PORT: ${process.env.PORT}`);
  const server = await startSignalingServer({
    host: process.env.HOST || '127.0.0.1',
    port,
    serveDir,
    log: (msg) => console.log(msg),
  });
  console.log(`selfmesh signaling on ${server.url}`);
  if (serveDir) console.log(`open ${server.httpUrl}/`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
