import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    environment: 'node',
    // Real models on real 256^3 volumes: generous, but a hang still fails.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two-core machines: parallel files fight for the same cores and memory.
    fileParallelism: false
  }
})
