/**
 * Hostile input to every verb: flags out of range, outputs that would overwrite inputs, outputs that cannot be
 * written, oversized models. Each case runs the verb in-process through the CLI's error boundary (`runCli`) and
 * must end with one `error:` line plus a `hint:` line, exit 2, no stack trace and nothing written.
 */
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/output.ts';
import { exportVerb, predictVerb, trainVerb } from '../../src/cli/train-verbs.ts';
import { generateVerb, lmTrainVerb } from '../../src/cli/lm-verbs.ts';
import { evalVerb } from '../../src/cli/eval-verb.ts';
import { auditVerb } from '../../src/cli/audit-verb.ts';
import { compressVerb } from '../../src/cli/compress-verb.ts';
import { serveVerb } from '../../src/cli/serve-verb.ts';
import { compareVerb } from '../../src/cli/compare-verb.ts';
import { datasheetVerb } from '../../src/cli/datasheet-verb.ts';
import { demoVerb } from '../../src/cli/demo-verb.ts';
import { monitorVerb } from '../../src/cli/monitor-verb.ts';
import { registryVerb } from '../../src/cli/registry-verb.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { trainLm } from '../../src/train/lm.ts';
import { runEval } from '../../src/eval/run.ts';
import { runAudit } from '../../src/audit/run.ts';
import { compressModel } from '../../src/compress/compress.ts';
import { startServer } from '../../src/serve/server.ts';
import { GPT_PRESETS } from '../../src/models/gpt.ts';
import { SwitchyardError } from '../../src/util/errors.ts';
import { tmp } from '../cli/helpers.ts';

const VERBS: Record<string, (argv: string[]) => Promise<number>> = {
  train: trainVerb, predict: predictVerb, export: exportVerb, generate: generateVerb, gpt: lmTrainVerb, eval: evalVerb,
  audit: auditVerb, compress: compressVerb, serve: serveVerb, compare: compareVerb, datasheet: datasheetVerb, demo: demoVerb,
  monitor: monitorVerb, registry: registryVerb,
};

/** Runs `switchyard <verb> ...argv` in-process behind the CLI's error boundary; returns exit code and output. */
async function run(verb: string, argv: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const code = await runCli(() => VERBS[verb](argv), {
    argv, stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, exit: () => {},
  });
  return { code, stderr, stdout };
}

function expectOneLine(r: { code: number; stderr: string }, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines[1]).toMatch(/^hint: ./);
  expect(lines).toHaveLength(2);
  expect(r.code).toBe(2);
}

const dir = tmp('sy-hostile-input-');
const data = join(dir, 'train.csv');
const out = join(dir, 'never-written');
const run_ = join(dir, 'run');

beforeAll(async () => {
  const rows = ['x1,x2,label', ...Array.from({ length: 60 }, (_, i) => `${i / 60},${(i * 7) % 13},${i % 2 ? 'a' : 'b'}`)];
  writeFileSync(data, rows.join('\n') + '\n');
  await trainTabular({ data, target: 'label', out: run_, epochs: 1, hidden: [4], threads: 1, progress: { enabled: false } });
});

/** Flags out of their declared range, per verb: [verb, argv, what the error names]. */
const BAD_FLAGS: [string, string[], RegExp][] = [
  ['train', ['--dropout', '2'], /--dropout expects a number >= 0 and < 1, got '2'/],
  ['train', ['--weight-decay', '-1'], /--weight-decay expects a number >= 0/],
  ['train', ['--clip-norm', '-1'], /--clip-norm expects a number > 0/],
  ['train', ['--patience', '-1'], /--patience expects a whole number >= 0/],
  ['train', ['--stop-after', '0'], /--stop-after expects a whole number >= 1/],
  ['train', ['--epochs', '1.5'], /--epochs expects a whole number >= 1/],
  ['train', ['--threads', '-3'], /--threads expects a whole number >= 1/],
  ['train', ['--threads', '1.5'], /--threads expects a whole number/],
  ['train', ['--resume', '--force'], /options --force and --resume cannot be used together/],
  ['train', ['--valid-fraction', '1'], /--valid-fraction expects a number > 0 and < 1/],
  ['train', ['--max-params', '0'], /--max-params expects a whole number >= 1/],
  ['gpt', ['--steps', '0'], /--steps expects a whole number >= 1/],
  ['gpt', ['--dropout', '1'], /--dropout expects a number >= 0 and < 1/],
  ['gpt', ['--heads', '0'], /--heads expects a whole number >= 1/],
  ['gpt', ['--warmup', '-1'], /--warmup expects a whole number >= 0/],
  ['gpt', ['--resume', '--force'], /options --force and --resume cannot be used together/],
  ['generate', ['--max-tokens', '-1'], /--max-tokens expects a whole number >= 1/],
  ['generate', ['--temperature', '-0.5'], /--temperature expects a number >= 0/],
  ['generate', ['--top-p', '0'], /--top-p expects a number > 0 and <= 1/],
  ['audit', ['--threshold', '5'], /--threshold expects a number > 0 and <= 1/],
  ['audit', ['--permutations', '0'], /--permutations expects a whole number >= 1/],
  ['audit', ['--ngram', '-1'], /--ngram expects a whole number >= 1/],
  ['audit', ['--memory-limit', 'lots'], /--memory-limit 'lots' is not a size/],
  ['eval', ['--bootstrap', '0'], /--bootstrap expects a whole number >= 10/],
  ['eval', ['--bootstrap', '-5'], /--bootstrap expects a whole number/],
  ['eval', ['--bootstrap', '1e12'], /--bootstrap expects a whole number >= 10 and <= 100000, got '1e12'/],
  ['eval', ['--pgd-steps', '0'], /--pgd-steps expects a whole number >= 1/],
  ['serve', ['--max-batch', '0'], /--max-batch expects a whole number >= 1/],
  ['serve', ['--max-error-rate', '-1'], /--max-error-rate expects a number >= 0 and <= 1/],
  ['serve', ['--poll-ms', '-1'], /--poll-ms expects a whole number >= 0/],
  ['serve', ['--body-limit', '0'], /--body-limit expects a whole number >= 1/],
  ['serve', ['--host', 'not a host'], /--host 'not a host' is not an IP address or a host name/],
  ['compress', ['--min-agreement', '2'], /--min-agreement expects a number >= 0 and <= 1/],
  ['compress', ['--limit', '0'], /--limit expects a whole number >= 1/],
  ['compare', ['--alpha', '0.7'], /--alpha expects a number > 0 and < 0.5/],
  ['compare', ['--resamples', '5'], /--resamples expects a whole number >= 100/],
  ['demo', ['--epochs', '0'], /--epochs expects a whole number >= 1/],
];

/** The flags each verb needs so that only the flag under test is wrong. */
function required(verb: string): string[] {
  const base: Record<string, string[]> = {
    train: ['--data', data, '--target', 'label', '--out', out],
    gpt: ['--model', 'gpt', '--data', data, '--out', out],
    generate: ['--model', run_],
    audit: ['--data', data, '--out', out],
    eval: ['--model', run_, '--data', data, '--out', out],
    serve: ['--model', run_, '--port', '0'],
    compress: ['--model', run_, '--out', join(out, 'm.onnx')],
    compare: ['--baseline', run_, '--candidate', run_, '--data', data, '--out', out],
    demo: ['--out', out],
  };
  return base[verb];
}

describe('every numeric flag is checked against its declared range', () => {
  it.each(BAD_FLAGS)('%s %j', async (verb, argv, pattern) => {
    expectOneLine(await run(verb, [...required(verb), ...argv]), pattern);
    expect(existsSync(out)).toBe(false);
  });
});

describe('library functions check the same ranges as the CLI', () => {
  const quiet = { progress: { enabled: false } };
  it.each<[string, () => Promise<unknown>, RegExp]>([
    ['trainTabular dropout', () => trainTabular({ data, target: 'label', out, dropout: 2, ...quiet }), /--dropout expects a number >= 0 and < 1/],
    ['trainTabular epochs', () => trainTabular({ data, target: 'label', out, epochs: 1.5, ...quiet }), /--epochs expects a whole number >= 1/],
    ['trainLm steps', () => trainLm({ data: [data], out, model: GPT_PRESETS.tiny, steps: 0, ...quiet }), /--steps expects a whole number >= 1/],
    ['runEval bootstrap', () => runEval({ model: run_, data, bootstrap: 0, ...quiet }), /--bootstrap expects a whole number >= 10/],
    ['runAudit threshold', () => runAudit({ data, nearDuplicates: { threshold: 5 }, ...quiet }), /--threshold expects a number > 0 and <= 1/],
    ['compressModel limit', () => compressModel({ model: run_, out: join(out, 'm.onnx'), limit: -1 }), /--limit expects a whole number >= 1/],
    ['startServer maxBatch', () => startServer({ model: run_, port: 0, load: { maxBatch: 0 }, signals: false }), /--max-batch expects a whole number >= 1/],
    ['startServer host', () => startServer({ model: run_, port: 0, host: 'not a host', signals: false }), /--host 'not a host'/],
  ])('%s', async (_, call, pattern) => {
    const err = await call().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchyardError);
    expect((err as SwitchyardError).code).toBe('E_USAGE');
    expect((err as SwitchyardError).message).toMatch(pattern);
    expect(existsSync(out)).toBe(false);
  });
});

describe('an output never overwrites or lands inside an input', () => {
  const file = (name: string, text = 'x\n') => (writeFileSync(join(dir, name), text), join(dir, name));
  it.each<[string, () => string[], RegExp]>([
    ['predict', () => ['--model', run_, '--data', data, '--out', data], /--out .*train\.csv is the same file as --data/],
    ['predict', () => {
      const hard = join(dir, 'hard.csv');
      if (!existsSync(hard)) linkSync(data, hard);
      return ['--model', run_, '--data', data, '--out', hard];
    }, /--out .*hard\.csv is the same file as --data/],
    ['predict', () => {
      const soft = join(dir, 'soft.csv');
      if (!existsSync(soft)) symlinkSync(data, soft);
      return ['--model', run_, '--data', soft, '--out', data];
    }, /--out .* is the same file as --data .*soft\.csv/],
    ['export', () => ['--model', run_, '--out', join(run_, 'model.safetensors')], /--out .* is the same file as --model/],
    ['export', () => ['--model', run_, '--out', join(run_, 'manifest.json')], /--out .* is the same file as --model/],
    ['compress', () => ['--model', run_, '--out', join(run_, 'model.onnx')], /--out .* is inside the input directory --model/],
    ['train', () => ['--data', data, '--target', 'label', '--out', dir, '--force'], /--out .* would replace a directory that holds --data/],
    ['eval', () => ['--model', run_, '--data', data, '--out', join(run_, 'eval')], /--out .* is inside the input directory --model/],
    ['audit', () => ['--data', data, '--test', data, '--out', data], /--out .* is a file, not a directory/],
    ['compare', () => ['--baseline', run_, '--candidate', run_, '--data', data, '--out', join(run_, 'cmp')], /inside the input directory --baseline/],
    ['datasheet', () => ['--audit', file('audit.json', '{}'), '--out', join(dir, 'audit.json')], /--out .* is the same file as --audit/],
    ['registry', () => ['register', '--name', 'm', '--from', run_, '--registry', join(run_, 'reg')], /--registry .* is inside the input directory --from/],
    ['monitor', () => ['report', '--model', 'm', '--reference', data, '--out', data, '--registry', join(dir, 'reg')], /--out .* is a file, not a directory/],
    ['gpt', () => ['--model', 'gpt', '--data', dir, '--out', join(dir, 'lm')], /--out .* is inside the input directory --data/],
  ])('%s', async (verb, argv, pattern) => {
    const before = readFileSync(data, 'utf8');
    const runFiles = readdirSync(run_).sort();
    expectOneLine(await run(verb, argv()), pattern);
    expect(readFileSync(data, 'utf8')).toBe(before);
    expect(readdirSync(run_).sort()).toEqual(runFiles);
  });
});

describe('an output that cannot be written is refused before any work', () => {
  it('--out under a file, --out a file where a directory goes, --out in a read-only directory', async () => {
    expectOneLine(await run('predict', ['--model', run_, '--data', data, '--out', join(data, 'p.csv')]), /train\.csv is a file, so nothing can be written under it/);
    expectOneLine(await run('train', ['--data', data, '--target', 'label', '--out', data]), /--out .*train\.csv is a file, not a directory/);
    expectOneLine(await run('eval', ['--model', run_, '--data', data, '--out', join(data, 'x')]), /is a file, so nothing can be written under it/);
    if (process.getuid?.() === 0) return; // root writes anywhere: the permission case cannot fail here
    const ro = join(dir, 'read-only');
    mkdirSync(ro, { recursive: true });
    chmodSync(ro, 0o555);
    expectOneLine(await run('predict', ['--model', run_, '--data', data, '--out', join(ro, 'p.csv')]), /read-only.* is not writable/);
  });
});

describe('a model too big for the parameter budget is refused before allocating', () => {
  it('train --hidden 100000000 names the parameter count', async () => {
    expectOneLine(await run('train', [...required('train'), '--hidden', '100000000']), /an MLP of layer sizes 2,100000000,2 has 500,000,002 parameters, above --max-params 100,000,000/);
    expect(existsSync(out)).toBe(false);
  });
  it('train --model gpt --d-model 100000 names the parameter count', async () => {
    const text = join(dir, 'text.txt');
    writeFileSync(text, 'the quick brown fox jumps over the lazy dog. '.repeat(40));
    expectOneLine(await run('gpt', ['--model', 'gpt', '--data', text, '--out', out, '--d-model', '100000', '--context', '16']), /a GPT of width 100000, 2 layers .* parameters, above --max-params/);
    expect(existsSync(out)).toBe(false);
  });
});
