import { defineConfig } from 'vitest/config';

/**
 * The suites that drive the per-entry system calls of src/util/fsat.ts (a take's scan, verify's
 * walk, the races and hostile trees around them) run twice: once with the native addon, once
 * with its TypeScript fallback (LINKSNAP_NATIVE=0), which must pass the same tests.
 */
const FALLBACK_SUITES = [
  'test/unit/fsat.test.ts',
  'test/take/take.test.ts',
  'test/take/take.property.test.ts',
  'test/take/big-folder.test.ts',
  'test/take/quick-check-trust.test.ts',
  'test/take/vanished-file.test.ts',
  'test/verify/verify.test.ts',
  'test/verify/repair.test.ts',
  'test/verify/shared-walk.test.ts',
  'test/verify/lost-found.test.ts',
  'test/fault/damage-spread.test.ts',
  'test/fault/source-races.test.ts',
  'test/security/source-swap.test.ts',
  'test/security/hostile-names.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests create real folders and SQLite files; two workers match the 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'native', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'fs-fallback', include: FALLBACK_SUITES, env: { LINKSNAP_NATIVE: '0' } } },
    ],
  },
});
