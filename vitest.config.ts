import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addons and child processes: one forked process per test file, never worker threads.
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real processes on a loaded 2-core machine: a second of polling is too little for an hvctl to start.
    expect: { poll: { timeout: 15_000 } },
  },
});
