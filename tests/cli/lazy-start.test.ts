import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadedBy, tmp } from './helpers.ts';

describe('the CLI loads a verb only when it runs', () => {
  it('--help and --version load neither ONNX Runtime nor any optional package', () => {
    for (const args of [['--help'], ['--version']]) {
      const { code, loaded } = loadedBy(args);
      expect(code).toBe(0);
      const heavy = loaded.filter((n) => /onnxruntime|duckdb|better-sqlite3|^pg\/|fastify|yaml/.test(n));
      expect(heavy, args.join(' ')).toEqual([]);
    }
  });

  it('a verb that serves ONNX files loads ONNX Runtime (the hook sees what is loaded)', () => {
    const { loaded } = loadedBy(['serve', '--model', join(tmp('sy-lazy-'), 'no-such-run'), '--port', '0']);
    expect(loaded.some((n) => n.startsWith('onnxruntime-node'))).toBe(true);
  });
});
