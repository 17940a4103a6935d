import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  build: { outDir: 'dist', target: 'es2022', sourcemap: true },
  server: { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.VITE_PORT ?? 5173) },
});
