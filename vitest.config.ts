import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // CLI tests spawn the real binary and train real models; a loaded 2-core CI box needs headroom.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // Two workers share the two cores: ORT threads that busy-wait during a run would take the other worker's
    // core (the suite ran 258 s with spinning, 219 s without). Spawned CLIs inherit this too.
    env: { SWITCHYARD_SPIN: 'never' },
  },
});
