import { defineConfig } from 'vitest/config';

// Three projects: unit (fast, in-memory), sim (deterministic simulator at scale),
// e2e (real Chromium tabs over real WebRTC, driven by playwright-core).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['fake-indexeddb/auto'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'sim',
          include: ['test/sim/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['fake-indexeddb/auto'],
          testTimeout: 600_000,
          hookTimeout: 120_000,
          // Simulated nodes hold many short-lived timers and promises: a larger young generation lets
          // them die there instead of being promoted and marked again by every full collection.
          execArgv: ['--max-semi-space-size=64'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Real browsers are heavy on 2 cores: one e2e file at a time.
          fileParallelism: false,
          globalSetup: ['test/e2e/global-setup.ts'],
        },
      },
    ],
  },
});
