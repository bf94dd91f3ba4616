import { describe, expect, expectTypeOf, it } from 'vitest';
import { COMMON_FLAGS, formatHelp, parseArgs } from '../../src/cli/args.ts';
import { SwitchyardError } from '../../src/util/errors.ts';

const spec = {
  data: { type: 'string', required: true, help: 'training data (CSV or JSONL)' },
  epochs: { type: 'number', default: 3, alias: 'e', help: 'passes over the data' },
  lr: { type: 'number', help: 'learning rate' },
  tags: { type: 'list', help: 'tags to attach' },
  'out-dir': { type: 'string', default: 'runs', help: 'where runs go' },
  ...COMMON_FLAGS,
} as const;

function usageError(fn: () => unknown): SwitchyardError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SwitchyardError);
    expect((err as SwitchyardError).code).toBe('E_USAGE');
    expect((err as SwitchyardError).exitCode).toBe(2);
    return err as SwitchyardError;
  }
  throw new Error('expected E_USAGE');
}

describe('parseArgs', () => {
  it('parses typed values, defaults, aliases and positionals', () => {
    const a = parseArgs(['--data', 'x.csv', '-e', '5', '--json', 'extra', '--tags', 'a,b', '--tags=c'], spec, 'train');
    expect(a).toEqual({ data: 'x.csv', epochs: 5, lr: undefined, tags: ['a', 'b', 'c'], 'out-dir': 'runs', json: true, quiet: false, _: ['extra'], help: false });
    expectTypeOf(a.data).toEqualTypeOf<string>();
    expectTypeOf(a.epochs).toEqualTypeOf<number>();
    expectTypeOf(a.lr).toEqualTypeOf<number | undefined>();
    expectTypeOf(a.tags).toEqualTypeOf<string[]>();
    expectTypeOf(a.json).toEqualTypeOf<boolean>();
    expectTypeOf(a._).toEqualTypeOf<string[]>();
  });

  it('supports --flag=value, negative numbers, --no-bool, --bool=false, last-wins, and --', () => {
    const a = parseArgs(['--data=a=b.csv', '--lr', '-1e-3', '--epochs=2', '--epochs', '7', '--json=false', '--no-quiet', '--', '--data', 'z'], spec);
    expect(a.data).toBe('a=b.csv');
    expect(a.lr).toBe(-0.001);
    expect(a.epochs).toBe(7);
    expect(a.json).toBe(false);
    expect(a.quiet).toBe(false);
    expect(a._).toEqual(['--data', 'z']);
    expect(parseArgs(['--data', '-'], spec).data).toBe('-');
    expect(parseArgs(['--data', 'x', '-q'], spec).quiet).toBe(true);
  });

  it('rejects an unknown option with the verb in the message and a hint', () => {
    const e = usageError(() => parseArgs(['--data', 'x', '--foo'], spec, 'train'));
    expect(e.message).toBe("unknown option --foo for 'switchyard train'");
    expect(e.hint).toBe('run switchyard train --help');
    const typo = usageError(() => parseArgs(['--data', 'x', '--epoch', '3'], spec, 'train'));
    expect(typo.hint).toBe('did you mean --epochs? run switchyard train --help');
    expect(usageError(() => parseArgs(['-z'], spec, 'train')).message).toBe("unknown option -z for 'switchyard train'");
  });

  it('rejects a missing value, a non-numeric number, a bad boolean and a missing required flag', () => {
    expect(usageError(() => parseArgs(['--data'], spec, 'train')).message).toBe("option --data needs a string value for 'switchyard train'");
    expect(usageError(() => parseArgs(['--data', '--json'], spec, 'train')).message).toMatch(/--data needs a string value/);
    expect(usageError(() => parseArgs(['--data', 'x', '--lr', 'fast'], spec, 'train')).message).toBe("option --lr expects a number, got 'fast' for 'switchyard train'");
    expect(usageError(() => parseArgs(['--data', 'x', '--lr='], spec)).message).toMatch(/expects a number, got ''/);
    expect(usageError(() => parseArgs(['--data', 'x', '--json=maybe'], spec)).message).toMatch(/expects true or false/);
    const e = usageError(() => parseArgs(['--epochs', '2'], spec, 'train'));
    expect(e.message).toBe("missing required option --data for 'switchyard train'");
    expect(e.hint).toBe('run switchyard train --help');
  });

  it('accepts --help and -h without enforcing required flags', () => {
    expect(parseArgs(['--help'], spec, 'train').help).toBe(true);
    expect(parseArgs(['-h'], spec, 'train').help).toBe(true);
  });

  it('refuses reserved flag names in the spec', () => {
    expect(() => parseArgs([], { help: { type: 'boolean', help: 'x' } })).toThrow(/reserved/);
  });
});

describe('formatHelp', () => {
  it('lists every flag aligned, with type, required and defaults', () => {
    const text = formatHelp('train', 'Train a model on a dataset.', spec);
    const lines = text.trimEnd().split('\n');
    expect(lines.slice(0, 5)).toEqual(['usage: switchyard train [options]', '', 'Train a model on a dataset.', '', 'options:']);
    expect(text).toContain('--data <string>');
    expect(text).toContain('training data (CSV or JSONL) (required)');
    expect(text).toContain('-e, --epochs <number>');
    expect(text).toContain('passes over the data (default: 3)');
    expect(text).toContain('--tags <a,b,…>');
    expect(text).toContain('-q, --quiet');
    expect(lines.at(-1)).toMatch(/^ {2}-h, --help +show this help$/);
    const helpColumns = lines.slice(5).map((l) => {
      const m = /^ {2}(\S.*?\S) {2,}(\S.*)$/.exec(l);
      return m ? l.length - m[2].length : -1;
    });
    expect(helpColumns.length).toBe(8);
    expect(new Set(helpColumns).size).toBe(1);
    expect(helpColumns[0]).toBeGreaterThan(0);
  });
});

describe('parseArgs numeric ranges', () => {
  const ranged = {
    epochs: { type: 'number', default: 3, min: 1, integer: true, help: 'passes' },
    dropout: { type: 'number', default: 0, min: 0, max: 0.99, help: 'drop probability' },
    lr: { type: 'number', default: 1e-3, above: 0, help: 'step size' },
  } as const;

  it('accepts values inside the declared range, at its inclusive ends', () => {
    const a = parseArgs(['--epochs', '1', '--dropout', '0.99', '--lr', '1e-9'], ranged, 'train');
    expect([a.epochs, a.dropout, a.lr]).toEqual([1, 0.99, 1e-9]);
  });

  it('rejects a value outside it with the flag, the range and the value', () => {
    expect(usageError(() => parseArgs(['--epochs', '1.5'], ranged, 'train')).message).toBe(
      "option --epochs expects a whole number >= 1, got '1.5' for 'switchyard train'",
    );
    expect(usageError(() => parseArgs(['--epochs', '0'], ranged, 'train')).message).toContain('>= 1');
    expect(usageError(() => parseArgs(['--dropout', '2'], ranged, 'train')).message).toContain('>= 0 and <= 0.99');
    expect(usageError(() => parseArgs(['--lr', '0'], ranged, 'train')).message).toContain("a number > 0, got '0'");
  });

  it('shows the range in --help', () => {
    expect(formatHelp('train', 'Train.', ranged)).toContain('passes (a whole number >= 1) (default: 3)');
  });
});
