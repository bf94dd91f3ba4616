import { describe, expect, it } from 'vitest';
import { emitJson, runCli } from '../../src/cli/output.ts';
import { SwitchyardError } from '../../src/util/errors.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const codes: number[] = [];
  return {
    out,
    err,
    codes,
    opts: (argv: string[]) => ({
      argv,
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      exit: (c: number) => codes.push(c),
    }),
  };
}

describe('runCli', () => {
  it('passes the exit code of main through', async () => {
    const c = capture();
    expect(await runCli(async () => 3, c.opts([]))).toBe(3);
    expect(c.codes).toEqual([3]);
    expect(c.err).toEqual([]);
  });

  it('prints error and hint for a SwitchyardError and exits with its code', async () => {
    const c = capture();
    const code = await runCli(async () => {
      throw new SwitchyardError('E_CSV_EMPTY', 'data/train.csv: the file has no rows', 'check the path');
    }, c.opts(['train', '--data', 'data/train.csv']));
    expect(code).toBe(2);
    expect(c.err.join('')).toBe('error: data/train.csv: the file has no rows\nhint: check the path\n');
    expect(c.out).toEqual([]);
    expect(c.codes).toEqual([2]);
  });

  it('also prints a JSON error object on stdout under --json', async () => {
    const c = capture();
    await runCli(async () => {
      throw new SwitchyardError('E_GATE', 'accuracy 0.8 < 0.9', 'train longer', 3);
    }, c.opts(['eval', '--json']));
    expect(c.out.length).toBe(1);
    expect(JSON.parse(c.out[0])).toEqual({ ok: false, error: { code: 'E_GATE', message: 'accuracy 0.8 < 0.9', hint: 'train longer' } });
    expect(c.codes).toEqual([3]);
  });

  it('prints the stack of an unexpected error and exits 1', async () => {
    const c = capture();
    await runCli(async () => {
      throw new TypeError('boom');
    }, c.opts([]));
    expect(c.err.join('')).toMatch(/^TypeError: boom\n\s+at /);
    expect(c.codes).toEqual([1]);
  });
});

describe('emitJson', () => {
  it('prints exactly one JSON line', () => {
    const lines: string[] = [];
    emitJson({ ok: true, n: 2n, nested: { a: [1, 'x'] } }, { write: (s: string) => lines.push(s) });
    expect(lines).toEqual(['{"ok":true,"n":2,"nested":{"a":[1,"x"]}}\n']);
  });
});
