import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SwitchyardError } from '../../src/util/errors.ts';
import { importOptional, missingPackageError, OPTIONAL_PACKAGES } from '../../src/util/optional.ts';

const ROOT = resolve(import.meta.dirname, '../..');

describe('optional packages', () => {
  it('importing the library and switchyard/serve loads none of them (they load where a verb needs them)', () => {
    const script = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
await import(${JSON.stringify(join(ROOT, 'src/index.ts'))});
await import(${JSON.stringify(join(ROOT, 'src/serve/index.ts'))});
const names = ${JSON.stringify(Object.keys(OPTIONAL_PACKAGES))};
const loaded = Object.keys(require.cache).flatMap((k) => names.filter((n) => k.includes('/node_modules/' + n + '/')));
console.log(JSON.stringify([...new Set(loaded)]));`;
    const args = ['--import', 'tsx', '--input-type=module', '-e', script];
    const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('an installed one is imported; a missing one is E_MISSING_PACKAGE with the npm install line', async () => {
    const pg = await importOptional<{ default: { Pool: unknown } }>('pg');
    expect(typeof pg.default.Pool).toBe('function');
    const e = missingPackageError('fastify');
    expect(e).toBeInstanceOf(SwitchyardError);
    expect([e.code, e.exitCode, e.hint]).toEqual(['E_MISSING_PACKAGE', 2, 'npm install fastify']);
    expect(e.message).toBe(`${OPTIONAL_PACKAGES.fastify} needs the package fastify, which is not installed`);
  });
});
