#!/usr/bin/env node
/**
 * `npm run build` (also `prepare`, so `npm ci` builds): compiles src/ to dist/ (JS, .d.ts, declaration and
 * source maps) with tsconfig.build.json, from a clean dist/ so no file of a deleted source survives.
 *
 * tsc rewrites the sources' relative `.ts` imports to `.js` in the JS (`rewriteRelativeImportExtensions`) but
 * leaves them as `.ts` in the declarations; they are rewritten here too, so a consumer's TypeScript resolves
 * them under any settings (no `allowImportingTsExtensions` needed, older compilers and bundlers included).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

/** `from './a.ts'`, `from '../b/c.ts'` and `import('./a.ts')` in a declaration file, with the quote kept. */
const RELATIVE_TS = /((?:from\s+|import\()(['"])\.{1,2}\/[^'"]*?)\.ts\2/g;
let files = 0;
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(RELATIVE_TS, '$1.js$2');
  if (fixed !== text) writeFileSync(file, fixed);
  files++;
}
process.stdout.write(`build: dist/ written (${files} declaration files)\n`);
