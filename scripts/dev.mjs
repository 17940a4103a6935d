// `npm run dev`: the signaling server on PORT (default 4444) and Vite's dev server pointed at it.
import { spawn } from 'node:child_process';

const host = process.env.HOST ?? '127.0.0.1';
const port = process.env.PORT ?? '4444';
const children = [
  spawn('npx', ['tsx', 'signaling/main.ts'], { stdio: 'inherit', env: { ...process.env, HOST: host, PORT: port } }),
  spawn('npx', ['vite', '--host', host], { stdio: 'inherit', env: { ...process.env, VITE_SIGNALING: `ws://${host}:${port}` } }),
];
const stop = () => {
  for (const c of children) c.kill('SIGTERM');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
for (const c of children) c.on('exit', (code) => code && stop());
