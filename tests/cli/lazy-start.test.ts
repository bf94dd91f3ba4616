import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tmp } from './helpers.ts';

/** The packages (CommonJS, so they show in require.cache) a CLI call loaded, printed at exit. */
function loadedBy(args: string[]): { code: number; loaded: string[] } {
  const hook = join(tmp('sy-lazy-'), 'hook.mjs');
  writeFileSync(hook, `import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const names = Object.keys(cache).map((k) => k.split('/node_modules/')[1]?.split('/').slice(0, 2).join('/')).filter(Boolean);
  process.stderr.write('LOADED ' + JSON.stringify([...new Set(names)]) + '\\n');
});`);
  const r = spawnSync(process.execPath, ['--import', hook, join(ROOT, 'bin/switchyard-dev.js'), ...args], { encoding: 'utf8' });
  const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED ')) ?? 'LOADED null';
  return { code: r.status ?? -1, loaded: JSON.parse(line.slice(7)) };
}

describe('the CLI loads a verb only when it runs', () => {
  it('--help and --version load neither ONNX Runtime nor any optional package', () => {
    for (const args of [['--help'], ['--version']]) {
      const { code, loaded } = loadedBy(args);
      expect(code).toBe(0);
      const heavy = loaded.filter((n) => /onnxruntime|duckdb|better-sqlite3|^pg\/|fastify|yaml/.test(n));
      expect(heavy, args.join(' ')).toEqual([]);
    }
  });

  it('a verb that computes loads ONNX Runtime (the hook sees what is loaded)', () => {
    const { loaded } = loadedBy(['export', '--model', join(tmp('sy-lazy-'), 'no-such-run'), '--out', 'x.onnx']);
    expect(loaded.some((n) => n.startsWith('onnxruntime-node'))).toBe(true);
  });
});
