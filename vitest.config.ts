import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/test/**/*.test.ts'],
    testTimeout: 60_000,
    // Set-up hooks start CLI processes and build fixtures; the 10 s default is tight on 2 loaded cores.
    hookTimeout: 60_000,
    pool: 'threads',
    maxWorkers: 2,
  },
});
