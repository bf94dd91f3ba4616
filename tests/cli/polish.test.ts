/**
 * CLI polish: verb typos get a suggestion from the flag parser's own matcher, `help VERB` is the verb's help,
 * `train --help` names both models and every input format, one flag name per idea (`--resamples`,
 * `--out <dir|file>`, `--threads` with one range on every verb that computes), and the README stays true.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, unknownName } from '../../src/cli/args.ts';
import { sessionOptions } from '../../src/runtime/session.ts';
import { cli, expectBadInput, ROOT, tmp, vegaCsv } from './helpers.ts';

/** The verbs whose work runs ONNX Runtime sessions, with the arguments that reach the flag parser. */
const COMPUTING: string[][] = [
  ['train'], ['train', '--model', 'gpt'], ['predict'], ['eval'], ['compare'], ['compress'], ['serve'], ['generate'],
  ['audit'], ['demo'],
];

/** Every verb (or sub-command) with an `--out`, and what it writes there. */
const OUT_KINDS: [string[], 'dir' | 'file'][] = [
  [['train'], 'dir'], [['train', '--model', 'gpt'], 'dir'], [['predict'], 'file'], [['export'], 'file'],
  [['compress'], 'file'], [['eval'], 'dir'], [['compare'], 'dir'], [['audit'], 'dir'], [['datasheet'], 'file'],
  [['demo'], 'dir'], [['monitor', 'report'], 'dir'], [['card'], 'dir'], [['governance'], 'dir'],
];

const THREADS_RANGE_ERROR = /option --threads expects a whole number >= 1 and <= 1024, got '0'/;

const helps = new Map<string, string>();
/** `switchyard VERB --help` (each verb run once per file). */
function helpOf(verb: string[]): string {
  const key = verb.join(' ');
  if (!helps.has(key)) helps.set(key, cli([...verb, '--help']).stdout);
  return helps.get(key)!;
}

describe('typos get a suggestion, verbs and flags alike (didYouMean, one matcher)', () => {
  it('verbs use the matcher flags and column names use: a close name is suggested, a far one is not', () => {
    const verbs = ['demo', 'train', 'predict'];
    expect(unknownName('verb', 'trian', verbs).hint).toBe("did you mean 'train'? one of: demo, train, predict");
    expect(unknownName('verb', 'xyz', ['train', 'predict']).hint).toBe('one of: train, predict');
  });

  it('the flag parser suggests --seed for --sede (a transposition)', () => {
    const spec = { seed: { type: 'number', default: 0, help: 'seed' } } as const;
    const hint = expect.stringMatching(/did you mean --seed\?/);
    expect(() => parseArgs(['--sede', '1'], spec, 'x')).toThrow(expect.objectContaining({ hint }));
  });

  it('switchyard trian: did you mean train?', () => {
    const r = cli(['trian']);
    expectBadInput(r, /unknown verb 'trian'/);
    expect(r.stderr).toMatch(/hint: did you mean 'train'\?/);
  });

  it("sub-commands too: switchyard monitor reprot: did you mean 'report'?", () => {
    const r = cli(['monitor', 'reprot']);
    expectBadInput(r, /unknown monitor command 'reprot'/);
    expect(r.stderr).toMatch(/hint: did you mean 'report'\? one of: report, incidents/);
  });
});

describe('help', () => {
  it('switchyard help VERB is switchyard VERB --help; switchyard help is the general usage', () => {
    const viaHelp = cli(['help', 'compare']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toMatch(/^usage: switchyard compare \[options\]/);
    expect(viaHelp.stdout).toBe(helpOf(['compare']));
    const general = cli(['help']);
    expect(general.code).toBe(0);
    expect(general.stdout).toMatch(/^usage: switchyard <verb>/);
    expect(general.stdout).toMatch(/^ {2}datasheet /m);
    expect(cli(['help', 'registry']).stdout).toMatch(/^usage: switchyard registry <command>/);
    expectBadInput(cli(['help', 'trian']), /unknown verb 'trian'/);
  });

  it('train --help names --model gpt (and where its options are) and every input format', () => {
    const r = cli(['help', 'train']);
    expect(r.code).toBe(0);
    const words = ['--model gpt', 'train --model gpt --help', 'CSV', 'TSV', 'JSONL', 'Parquet', 'folders', 'sotu'];
    for (const word of words) {
      expect(r.stdout).toContain(word);
    }
    const lm = cli(['help', 'train', '--model', 'gpt']);
    expect(lm.stdout).toMatch(/^usage: switchyard train --model gpt/);
    expect(lm.stdout).toMatch(/--experts <number>/);
  });
});

describe('one name per idea', () => {
  it('eval and compare both take --resamples; eval --bootstrap still works with a one-line notice', () => {
    for (const verb of ['eval', 'compare']) expect(helpOf([verb])).toMatch(/^ {2}--resamples <number> /m);
    const r = cli(['eval', '--bootstrap', '5', '--model', 'x', '--data', 'y']);
    expect(r.stderr.split('\n')[0]).toBe('note: --bootstrap is deprecated; use --resamples (same meaning)');
    expect(r.stderr).toMatch(/error: option --bootstrap expects a whole number >= 10 and <= 100000, got '5'/);
  });

  const outCases = OUT_KINDS.map(([verb, kind]) => [verb.join(' '), verb, kind] as const);
  it.each(outCases)('%s --help says whether --out is a directory or a file', (_, verb, kind) => {
    expect(helpOf(verb)).toMatch(new RegExp(`^ {2}--out <${kind}> `, 'm'));
  });

  const computeCases = COMPUTING.map((verb) => [verb.join(' '), verb] as const);
  it.each(computeCases)('%s accepts --threads with the one range', (_, verb) => {
    expectBadInput(cli([...verb, '--threads', '0']), THREADS_RANGE_ERROR);
    expect(helpOf(verb)).toMatch(/^ {2}--threads <number> {2,}ONNX Runtime intra-op threads/m);
  });

  it('every ONNX Runtime session checks the same range, so library callers get the CLI error too', () => {
    expect(() => sessionOptions({ threads: 0 })).toThrow(THREADS_RANGE_ERROR);
    expect(sessionOptions({ threads: 3 }).intraOpNumThreads).toBe(3);
  });
});

describe('README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('links only files inside the repository, and they exist', () => {
    const targets = [...readme.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]);
    const links = targets.filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(3);
    for (const link of links) {
      const path = resolve(ROOT, link);
      expect(relative(ROOT, path).startsWith('..'), `${link} is outside the repository`).toBe(false);
      expect(existsSync(path), `${link} does not exist`).toBe(true);
    }
  });

  it('names the columns predict writes (train and predict run with --threads 1)', () => {
    const dir = tmp('sy-polish-');
    const data = vegaCsv('penguins', dir);
    const run = join(dir, 'run');
    const train = ['train', '--data', data, '--target', 'Species', '--out', run, '--epochs', '1', '--threads', '1'];
    expect(cli([...train, '--quiet']).code).toBe(0);
    const r = cli(['predict', '--model', run, '--data', data, '--threads', '1']);
    expect(r.code, r.stderr).toBe(0);
    const header = r.stdout.split('\n')[0];
    expect(header).toBe('row,prediction,prob_Adelie,prob_Chinstrap,prob_Gentoo');
    expect(readme).toContain(`e.g. ${header}.`);
  });
});
