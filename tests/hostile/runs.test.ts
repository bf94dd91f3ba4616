/**
 * Hostile and crash cases of run directories, through the real CLI: `--force` never deletes what is not a run,
 * every loader verifies the manifest (flipped bytes, a missing manifest, planted model files), a SIGKILL at
 * exact points of a checkpoint (the SWITCHYARD_TEST_KILL_AT hook) never leaves a torn set, and the weights a run
 * ships are the ones its summary describes.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, expectBadInput, ROOT, tmp } from '../cli/helpers.ts';

const dir = tmp('sy-hostile-runs-');

/** A small noisy two-class table: an MLP overfits it, so validation loss turns up after a few epochs. */
function table(file: string, rows: number, seed: number): string {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const lines = ['a,b,c,label'];
  for (let i = 0; i < rows; i++) {
    const [a, b, c] = [rnd() * 4 - 2, rnd() * 4 - 2, rnd() * 4 - 2];
    const clean = a + 0.5 * b > 0;
    lines.push(`${a.toFixed(3)},${b.toFixed(3)},${c.toFixed(3)},${(rnd() < 0.3 ? !clean : clean) ? 'yes' : 'no'}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const data = table(join(dir, 'train.csv'), 160, 1);
const valid = table(join(dir, 'valid.csv'), 80, 2);
const TRAIN = ['train', '--data', data, '--valid', valid, '--target', 'label', '--hidden', '32,32', '--lr', '0.03', '--patience', '0', '--threads', '1', '--quiet', '--json'];

/** The CLI with `SWITCHYARD_TEST_KILL_AT` set: the process SIGKILLs itself right after that write. */
function killedAt(point: string, args: string[]): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/switchyard-dev.js'), ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', SWITCHYARD_TEST_KILL_AT: point }, timeout: 120_000 });
  expect(r.signal, r.stderr).toBe('SIGKILL');
}

function ok(r: ReturnType<typeof cli>): ReturnType<typeof cli> {
  expect(r.code, r.stderr).toBe(0);
  return r;
}

const bytes = (f: string) => readFileSync(f);
/** The files whose bytes define where a run is: shipped weights, last weights, optimizer state. */
const STATE = ['model.safetensors', 'checkpoint/model.safetensors', 'checkpoint/optimizer.safetensors'];
/** metrics.jsonl without its timings. */
const curve = (run: string) => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => ({ ...JSON.parse(l), examplesPerSecond: 0 }));

/** `run` is where `reference` is: the same weights, optimizer state and learning curve. */
function expectSameRun(run: string, reference: string): void {
  for (const f of STATE) expect(bytes(join(run, f)).equals(bytes(join(reference, f))), f).toBe(true);
  expect(curve(run)).toEqual(curve(reference));
}

const straight = join(dir, 'straight');
const straightRun = () => {
  if (!existsSync(join(straight, 'manifest.json'))) ok(cli([...TRAIN, '--epochs', '6', '--out', straight]));
  return straight;
};

describe('early stopping ships the best weights; resume continues from the last state', () => {
  it('model.safetensors holds the best epoch (its validation loss is the one metrics.json reports)', async () => {
    const run = straightRun();
    const summary = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8'));
    const history = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(summary.bestEpoch).toBeLessThan(history.length); // the precondition: the last epoch is not the best
    expect(history[history.length - 1].validLoss).toBeGreaterThan(summary.valid.loss + 1e-3);
    const out = join(dir, 'valid-pred.csv');
    ok(cli(['predict', '--model', run, '--data', valid, '--out', out, '--json']));
    const truth = readFileSync(valid, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[3]);
    const preds = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const header = readFileSync(out, 'utf8').split('\n')[0].split(',');
    let nll = 0;
    preds.forEach((p, i) => (nll -= Math.log(Number(p[header.indexOf(`prob_${truth[i]}`)]))));
    expect(nll / preds.length).toBeCloseTo(summary.valid.loss, 4);
  });

  it('--stop-after then --resume gives the straight run bit for bit (shipped, last and optimizer state)', () => {
    const run = straightRun();
    const split = join(dir, 'split');
    ok(cli([...TRAIN, '--epochs', '6', '--stop-after', '2', '--out', split]));
    ok(cli([...TRAIN, '--epochs', '6', '--resume', '--out', split]));
    expectSameRun(split, run);
  });
});

describe('kill -9 at each point of a checkpoint, then --resume: the same run as never killed', () => {
  // @2: the second checkpoint (after epoch 1); the first one is written before any training.
  for (const point of ['checkpoint:model@2', 'checkpoint:optimizer@2', 'commit:aside@2', 'checkpoint:commit@2']) {
    it(point, () => {
      const run = straightRun();
      const killed = join(dir, `killed-${point.replace(/\W/g, '-')}`);
      killedAt(point, [...TRAIN, '--epochs', '6', '--out', killed]);
      // Not finished: loaders say so (interrupted, not damaged) instead of using it.
      expectBadInput(cli(['predict', '--model', killed, '--data', valid]), /no manifest.*interrupted/);
      ok(cli([...TRAIN, '--epochs', '6', '--resume', '--out', killed]));
      expectSameRun(killed, run);
      expect(readdirSync(killed).sort()).toEqual(['checkpoint', 'config.json', 'manifest.json', 'metrics.json', 'metrics.jsonl', 'model.safetensors']);
    });
  }

  it('a kill during --resume leaves a run that reads as interrupted, and resumes to the same result', () => {
    const run = straightRun();
    const r = join(dir, 'kill-during-resume');
    ok(cli([...TRAIN, '--epochs', '6', '--stop-after', '2', '--out', r]));
    killedAt('checkpoint:optimizer@2', [...TRAIN, '--epochs', '6', '--resume', '--out', r]);
    const p = cli(['predict', '--model', r, '--data', valid]);
    expectBadInput(p, /interrupted/);
    expect(p.stderr).toMatch(/--resume/);
    ok(cli([...TRAIN, '--epochs', '6', '--resume', '--out', r]));
    expectSameRun(r, run);
  });
});

describe('train --force replaces only a real run, atomically', () => {
  it('refuses a directory with a bogus config.json, and leaves all of it in place', () => {
    const p = join(dir, 'project');
    mkdirSync(join(p, 'src'), { recursive: true });
    mkdirSync(join(p, '.git'));
    writeFileSync(join(p, 'src', 'main.ts'), 'precious\n');
    writeFileSync(join(p, 'config.json'), '{}');
    expectBadInput(cli([...TRAIN, '--epochs', '1', '--out', p, '--force']), /not a Switchyard run/);
    expect(readdirSync(p).sort()).toEqual(['.git', 'config.json', 'src']);
    expect(readFileSync(join(p, 'src', 'main.ts'), 'utf8')).toBe('precious\n');
  });

  it('refuses a real run with foreign files beside it (a copied run config and manifest do not make it a run)', () => {
    const p = join(dir, 'project-with-run-files');
    cpSync(straightRun(), p, { recursive: true });
    mkdirSync(join(p, 'src'));
    writeFileSync(join(p, 'src', 'main.ts'), 'precious\n');
    expectBadInput(cli([...TRAIN, '--epochs', '1', '--out', p, '--force']), /not a Switchyard run/);
    expect(readFileSync(join(p, 'src', 'main.ts'), 'utf8')).toBe('precious\n');
  });

  it('a run killed while its replacement trains is intact; a finished replacement is swapped in', () => {
    const r = join(dir, 'replaced');
    ok(cli([...TRAIN, '--epochs', '2', '--out', r]));
    const before = bytes(join(r, 'model.safetensors'));
    killedAt('checkpoint:optimizer@2', [...TRAIN, '--epochs', '3', '--seed', '5', '--out', r, '--force']);
    expect(bytes(join(r, 'model.safetensors')).equals(before)).toBe(true);
    ok(cli(['predict', '--model', r, '--data', valid]));
    expect(readdirSync(dir).filter((f) => f.startsWith('replaced.'))).toHaveLength(1); // the killed attempt's temp dir
    ok(cli([...TRAIN, '--epochs', '3', '--seed', '5', '--out', r, '--force']));
    expect(JSON.parse(readFileSync(join(r, 'config.json'), 'utf8')).seed).toBe(5);
    ok(cli(['predict', '--model', r, '--data', valid]));
    expect(readdirSync(dir).filter((f) => f.startsWith('replaced.'))).toEqual([]); // removed by the next run
  });

  it('a kill between the two renames of the swap leaves the old run under a fixed name that loaders point to', () => {
    const r = join(dir, 'swapped');
    ok(cli([...TRAIN, '--epochs', '1', '--out', r]));
    const before = bytes(join(r, 'model.safetensors'));
    // Pass 1 of commit:aside is the epoch-1 checkpoint, pass 2 the swap of the whole run.
    killedAt('commit:aside@2', [...TRAIN, '--epochs', '1', '--seed', '5', '--out', r, '--force']);
    expect(existsSync(r)).toBe(false);
    expect(bytes(join(`${r}.replaced`, 'model.safetensors')).equals(before)).toBe(true);
    const p = cli(['predict', '--model', r, '--data', valid]);
    expectBadInput(p, /config\.json: no such file/);
    expect(p.stderr).toMatch(/swapped\.replaced: rename it back/);
  });
});

describe('every load of a run verifies its manifest', () => {
  const tampered = () => {
    const t = join(dir, `tampered-${Math.random().toString(36).slice(2)}`);
    cpSync(straightRun(), t, { recursive: true });
    return t;
  };

  it('a flipped weight byte: predict, eval, export, compress and --resume refuse it (exit 2, nothing rewritten)', () => {
    const t = tampered();
    const w = bytes(join(t, 'model.safetensors'));
    w[w.length - 3] ^= 0x40;
    writeFileSync(join(t, 'model.safetensors'), w);
    const manifest = bytes(join(t, 'manifest.json'));
    const flipped = /model\.safetensors: sha256 differs/;
    expectBadInput(cli(['predict', '--model', t, '--data', valid]), flipped);
    expectBadInput(cli(['eval', '--model', t, '--data', valid]), flipped);
    expectBadInput(cli(['export', '--model', t, '--out', join(dir, 'x.onnx')]), flipped);
    expectBadInput(cli(['compress', '--model', t, '--out', join(dir, 'x.int8.onnx')]), flipped);
    expectBadInput(cli([...TRAIN, '--epochs', '6', '--resume', '--out', t]), flipped);
    expect(bytes(join(t, 'manifest.json')).equals(manifest)).toBe(true);
    expect(existsSync(join(dir, 'x.onnx'))).toBe(false);
  });

  it('a copy without the resume state (as the registry materialises a run) still loads, verified', () => {
    const t = tampered();
    rmSync(join(t, 'checkpoint'), { recursive: true });
    ok(cli(['predict', '--model', t, '--data', valid]));
    ok(cli(['export', '--model', t, '--out', join(t, 'model.onnx')]));
  });

  it('a flipped byte in the checkpoint: --resume refuses it', () => {
    const t = tampered();
    const w = bytes(join(t, 'checkpoint', 'optimizer.safetensors'));
    w[w.length - 3] ^= 0x40;
    writeFileSync(join(t, 'checkpoint', 'optimizer.safetensors'), w);
    expectBadInput(cli([...TRAIN, '--epochs', '6', '--resume', '--out', t]), /optimizer\.safetensors: sha256 differs/);
  });

  it('a missing manifest is an error with a hint', () => {
    const t = tampered();
    writeFileSync(join(t, 'manifest.json'), '');
    expectBadInput(cli(['predict', '--model', t, '--data', valid]), /manifest/);
    const u = tampered();
    cpSync(valid, join(u, 'ignored.csv'));
    rmSync(join(u, 'manifest.json'));
    rmSync(join(u, 'checkpoint'), { recursive: true });
    expectBadInput(cli(['predict', '--model', u, '--data', valid]), /no manifest/);
  });

  it('an unlisted model file is refused; unlisted reports are allowed; an export into the run is listed', () => {
    const t = tampered();
    mkdirSync(join(t, 'reports'));
    writeFileSync(join(t, 'reports', 'audit.html'), '<html></html>');
    ok(cli(['predict', '--model', t, '--data', valid]));
    ok(cli(['export', '--model', t, '--out', join(t, 'model.onnx')]));
    ok(cli(['predict', '--model', t, '--data', valid]));
    writeFileSync(join(t, 'planted.onnx'), bytes(join(t, 'model.onnx')));
    expectBadInput(cli(['predict', '--model', t, '--data', valid]), /planted\.onnx: file is not listed/);
  });
});
