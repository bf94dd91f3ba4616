/**
 * Vitest config for mutation testing (bench/mutation.ts): the project's config with the test files limited to
 * MUTATION_TESTS (comma-separated globs), so each mutant runs only the tests of the folder under mutation.
 */
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.ts';

const include = (process.env.MUTATION_TESTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
if (!include.length) throw new Error('bench/mutation/vitest.config.ts: set MUTATION_TESTS to the test files to run');

export default defineConfig({ ...base, root: new URL('../..', import.meta.url).pathname, test: { ...base.test, include } });
