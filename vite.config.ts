import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    target: 'es2022',
    sourcemap: true,
    // Non-ASCII characters escaped: a script with even one character above U+00FF is held as a
    // two-byte string, twice over (the page's resource cache and V8's copy of the source).
    rolldownOptions: { output: { charset: 'ascii' } },
  },
  server: { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.VITE_PORT ?? 5173) },
});
