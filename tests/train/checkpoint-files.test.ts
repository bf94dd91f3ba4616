/**
 * The file-level contract of checkpoints beyond the round trip (tests/train/checkpoint.test.ts): a checkpoint
 * never replaces a directory that holds anything else, leftovers of interrupted saves are removed, every extra
 * file (best, ema, state.json) must record the same update as the optimizer state, a checkpoint without its
 * manifest or of another model is refused naming the file, and a run directory resumes only with the exact
 * config its checkpoint was written with.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mse } from '../../src/nn/functional.ts';
import { MLP } from '../../src/nn/layers.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import { loadSafetensors, saveSafetensors } from '../../src/runtime/safetensors.ts';
import {
  copyWeights, loadCheckpoint, loadWeights, loadWeightsFile, resumableConfig, resumeCheckpoint, RUN_FILES, saveCheckpoint,
  saveWeights, writeRun,
} from '../../src/train/checkpoint.ts';
import { type BatchSpec, TrainStep } from '../../src/train/step.ts';
import { MANIFEST_NAME, sha256Bytes, writeManifest } from '../../src/util/fs.ts';
import { bytesEqual, expectSwitchyardError, f32, randArray, snapshot } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'sy-ckfiles-'));
const steps: TrainStep[] = [];
afterAll(async () => {
  for (const s of steps) await s.release();
  rmSync(root, { recursive: true, force: true });
});

const SPEC: BatchSpec = { x: { dtype: 'f32', shape: ['batch', 4] }, y: { dtype: 'f32', shape: ['batch', 2] } };

async function setup(initSeed: number, sizes = [4, 8, 2]) {
  const model = new MLP(sizes).init(initSeed);
  const step = await TrainStep.compile({ model, optimizer: adamw(), batch: SPEC, loss: (m, b) => mse(m.call(b.x), b.y), threads: 1 });
  steps.push(step);
  return { model, step };
}

async function trainOnce(s: { step: TrainStep }, call: number): Promise<void> {
  const r = await s.step.run({ x: f32([1, 3, 4], randArray(call, 12)), y: f32([1, 3, 2], randArray(call + 50, 6)) }, [0.01]);
  expect(r.nonFinite).toBeNull();
}

const countersOf = (s: { step: TrainStep }, epoch = 0) => ({ updates: s.step.updates, microSteps: s.step.microSteps, epoch, batchInEpoch: 0 });

describe('checkpoint files', () => {
  it('never replaces a directory holding other files, and removes only its own leftovers', async () => {
    const a = await setup(1);
    const parent = join(root, 'foreign');
    const dir = join(parent, 'ck');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const e = await expectSwitchyardError(() => saveCheckpoint(dir, a.model, a.step, countersOf(a)), 'E_CHECKPOINT', /ck: holds notes\.txt, which is not part of a checkpoint/);
    expect(e.hint).toBe(`save it to its own directory, e.g. ${join(dir, 'checkpoint')}`);
    expect(e.exitCode).toBe(1);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
    expect(readdirSync(parent)).toEqual(['ck']);

    // a directory holding a previous checkpoint (with every extra) is replaced; leftovers of earlier interrupted
    // saves beside it go, a sibling that only looks alike stays
    unlinkSync(join(dir, 'notes.txt'));
    const extras = { best: copyWeights(a.model), ema: copyWeights(a.model), state: { k: 1 } };
    await saveCheckpoint(dir, a.model, a.step, countersOf(a), {}, extras);
    expect(readdirSync(dir).sort()).toEqual([MANIFEST_NAME, 'best.safetensors', 'ema.safetensors', 'model.safetensors', 'optimizer.safetensors', 'state.json'].sort());
    for (const n of ['ck.tmp-999999', 'ck.old', 'ck2.tmp-1', 'ck.older', 'x.tmp-1']) mkdirSync(join(parent, n));
    // this very process's temp set, left half-written by a save that failed: not carried into the new set
    mkdirSync(join(parent, `ck.tmp-${process.pid}`));
    writeFileSync(join(parent, `ck.tmp-${process.pid}`, 'junk.bin'), 'x');
    await trainOnce(a, 1);
    await saveCheckpoint(dir, a.model, a.step, countersOf(a));
    expect(readdirSync(parent).sort()).toEqual(['ck', 'ck.older', 'ck2.tmp-1', 'x.tmp-1']);
    expect(readdirSync(dir).sort()).toEqual([MANIFEST_NAME, 'model.safetensors', 'optimizer.safetensors'].sort());
  });

  it('best and ema weights round-trip; every extra must record the optimizer state\'s update', async () => {
    const a = await setup(2);
    const best = copyWeights(a.model);
    await trainOnce(a, 2);
    // copies, not views: the model moved on, the copy did not
    expect(bytesEqual(best.get('layers.0.weight')!.data, a.model.layers[0].weight.data)).toBe(false);
    const ema = copyWeights(a.model);
    const dir = join(root, 'extras');
    await saveCheckpoint(dir, a.model, a.step, countersOf(a, 3), { note: 'n' }, { best, ema, state: { patience: 2 } });
    const b = await setup(3);
    const ck = await loadCheckpoint(dir, b.model, b.step);
    expect(ck).toMatchObject({ updates: 1, microSteps: 1, epoch: 3, batchInEpoch: 0, state: { patience: 2, counters: countersOf(a, 3) } });
    for (const [name, v] of best) expect(bytesEqual(ck.best!.get(name)!.data, v.data), name).toBe(true);
    for (const [name, v] of ema) expect([ck.ema!.get(name)!.shape, bytesEqual(ck.ema!.get(name)!.data, v.data)], name).toEqual([v.shape, true]);
    const meta = (await loadSafetensors(join(dir, RUN_FILES.best))).metadata;
    expect(meta.updates).toBe('1');

    // ema of another moment, manifest rewritten to match: refused naming the file and both updates
    await saveWeights(join(dir, RUN_FILES.ema), ema, { updates: '0' });
    await writeManifest(dir);
    await expectSwitchyardError(() => loadCheckpoint(dir, b.model, b.step), 'E_CHECKPOINT', /ema\.safetensors records update 0, optimizer\.safetensors update 1/);
    await saveWeights(join(dir, RUN_FILES.ema), ema, { updates: '1' });
    writeFileSync(join(dir, RUN_FILES.state), JSON.stringify({ counters: { updates: 7 } }));
    await writeManifest(dir);
    await expectSwitchyardError(() => loadCheckpoint(dir, b.model, b.step), 'E_CHECKPOINT', /state\.json records update 7, optimizer\.safetensors update 1/);
    unlinkSync(join(dir, RUN_FILES.state));
    await writeManifest(dir);
    const plain = await loadCheckpoint(dir, b.model, b.step);
    expect(plain.state).toBeUndefined();
    expect(plain.ema).toBeDefined();
  });

  it('a checkpoint without its manifest, or of a model with other parameters, is refused', async () => {
    const a = await setup(4);
    await trainOnce(a, 4);
    const dir = join(root, 'nomanifest');
    await saveCheckpoint(dir, a.model, a.step, countersOf(a));
    const bigger = await setup(5, [4, 8, 8, 2]);
    const e = await expectSwitchyardError(() => loadCheckpoint(dir, bigger.model, bigger.step), 'E_CHECKPOINT', /optimizer\.safetensors: missing optimizer state 'layers\.2\.weight\.exp_avg'/);
    expect(e.hint).toBe('the checkpoint belongs to a different model');
    unlinkSync(join(dir, MANIFEST_NAME));
    const b = await setup(6);
    const before = snapshot(b.model);
    const m = await expectSwitchyardError(() => loadCheckpoint(dir, b.model, b.step), 'E_MANIFEST', /nomanifest.manifest\.json: the checkpoint has no manifest/);
    expect(m.hint).toMatch(/retrain/);
    await expectSwitchyardError(() => loadWeights(dir, b.model), 'E_MANIFEST');
    for (const [n, p] of snapshot(b.model)) expect(bytesEqual(p, before.get(n)!), n).toBe(true);
    // neither manifest nor file: not found, with the hint for what is missing
    unlinkSync(join(dir, RUN_FILES.optimizer));
    const o = await expectSwitchyardError(() => loadCheckpoint(dir, b.model, b.step), 'E_FILE_NOT_FOUND', /optimizer\.safetensors: no such file/);
    expect(o.hint).toBe('this run has no optimizer state to resume from; train from scratch');
    rmSync(dir, { recursive: true });
    const w = await expectSwitchyardError(() => loadWeights(dir, b.model), 'E_FILE_NOT_FOUND', /model\.safetensors: no such file/);
    expect(w.hint).toBe('pass the directory written by switchyard train (--out)');
  });

  it('which set is loaded: the committed one, the one put aside after a crash, never an unlisted file', async () => {
    const a = await setup(16);
    // the first save into a directory whose parent does not exist yet
    const dir = join(root, 'fresh-parent', 'ck');
    await saveCheckpoint(dir, a.model, a.step, countersOf(a, 1));
    await trainOnce(a, 16);
    const older = `${dir}.old`;
    await saveCheckpoint(older, a.model, a.step, countersOf(a, 2));
    // both present (a crash after the swap, before the old set was removed): the committed set wins
    const b = await setup(17);
    expect((await loadCheckpoint(dir, b.model, b.step)).epoch).toBe(1);
    // only the set put aside (a crash between the renames): it is found, also through a path with trailing slashes
    rmSync(dir, { recursive: true });
    expect((await loadCheckpoint(`${dir}//`, b.model, b.step)).epoch).toBe(2);
    // a file the checkpoint's manifest does not list is refused
    writeFileSync(join(older, 'extra.txt'), 'x');
    await expectSwitchyardError(() => loadCheckpoint(dir, b.model, b.step), 'E_MANIFEST', /extra\.txt: file is not listed/);
  });

  it('torn sets name the file of the other moment; a state without counters, or no state, is refused', async () => {
    const a = await setup(18);
    const early = join(root, 'torn-early');
    await saveCheckpoint(early, a.model, a.step, countersOf(a));
    await trainOnce(a, 18);
    const dir = join(root, 'torn-model');
    await saveCheckpoint(dir, a.model, a.step, countersOf(a));
    const b = await setup(19);
    await saveWeights(join(dir, RUN_FILES.model), a.model.stateDict(), { updates: '0' });
    await writeManifest(dir);
    const e = await expectSwitchyardError(() => loadCheckpoint(dir, b.model, b.step), 'E_CHECKPOINT', /model\.safetensors records update 0, optimizer\.safetensors update 1$/);
    expect(e.hint).toBe('the checkpoint files come from different moments; restore the run from a copy or retrain');
    await saveWeights(join(dir, RUN_FILES.model), a.model.stateDict(), { updates: '1' });
    writeFileSync(join(dir, RUN_FILES.state), JSON.stringify({ note: 1 }));
    await writeManifest(dir);
    await expectSwitchyardError(() => loadCheckpoint(dir, b.model, b.step), 'E_CHECKPOINT', /state\.json records update undefined/);
    // resuming needs the state that records the config
    const run = join(root, 'stateless-run');
    await writeRun(run, { format: 'switchyard.run', version: 1, kind: 'tabular-mlp' }, a.model);
    await saveCheckpoint(join(run, RUN_FILES.checkpoint), a.model, a.step, countersOf(a));
    await expectSwitchyardError(() => resumeCheckpoint(run, b.model, b.step, '{}'), 'E_CHECKPOINT', /differs from the config/);
  });

  it('weights files carry PyTorch metadata; a run written by hand loads through its manifest', async () => {
    const a = await setup(7);
    const file = join(root, 'w.safetensors');
    await saveWeights(file, a.model.stateDict(), { epoch: '4' });
    const b = await setup(8);
    expect(await loadWeightsFile(file, b.model)).toEqual({ format: 'pt', epoch: '4' });
    for (const [n, p] of snapshot(b.model)) expect(bytesEqual(p, snapshot(a.model).get(n)!), n).toBe(true);

    const run = join(root, 'run');
    await writeRun(run, { format: 'switchyard.run', version: 1, kind: 'tabular-mlp' }, a.model);
    expect(readdirSync(run).sort()).toEqual([RUN_FILES.config, MANIFEST_NAME, RUN_FILES.model].sort());
    const c = await setup(9);
    await loadWeights(run, c.model);
    for (const [n, p] of snapshot(c.model)) expect(bytesEqual(p, snapshot(a.model).get(n)!), n).toBe(true);
    // the run's manifest is what is checked (a report beside the run is allowed), a model file swapped under it is refused
    writeFileSync(join(run, 'report.html'), 'r');
    await loadWeights(run, c.model);
    await saveWeights(join(run, RUN_FILES.model), b.model.stateDict(), { epoch: '5' });
    await expectSwitchyardError(() => loadWeights(run, c.model), 'E_MANIFEST');
  });

  it('resumes a run only with the config its checkpoint was written with, and marks the run as changing', async () => {
    const a = await setup(10);
    await trainOnce(a, 10);
    const run = join(root, 'resume-run');
    await writeRun(run, { format: 'switchyard.run', version: 1, kind: 'tabular-mlp', hidden: [8] }, a.model);
    const { cfg, text } = await resumableConfig<{ kind: string; hidden: number[] }>(run);
    expect(cfg).toEqual({ format: 'switchyard.run', version: 1, kind: 'tabular-mlp', hidden: [8] });
    expect(JSON.parse(text)).toEqual(cfg);
    await saveCheckpoint(join(run, RUN_FILES.checkpoint), a.model, a.step, countersOf(a, 2), {}, { state: { configSha256: sha256Bytes(text) } });
    await writeManifest(run);

    const b = await setup(11);
    const ck = await resumeCheckpoint(run, b.model, b.step, text);
    expect([ck.epoch, b.step.updates]).toEqual([2, 1]);
    for (const [n, p] of snapshot(b.model)) expect(bytesEqual(p, snapshot(a.model).get(n)!), n).toBe(true);
    expect(existsSync(join(run, MANIFEST_NAME))).toBe(false);
    // an interrupted invocation (no run manifest any more) resumes the same way
    const again = await setup(15);
    expect((await resumeCheckpoint(run, again.model, again.step, text)).epoch).toBe(2);

    const c = await setup(12);
    const e = await expectSwitchyardError(() => resumeCheckpoint(run, c.model, c.step, `${text} `), 'E_CHECKPOINT', /config\.json: differs from the config the checkpoint was written with/);
    expect(e.hint).toMatch(/restore it, or retrain/);
  });

  it('optimizer state is saved with its parameter\'s shape and the optimizer\'s name', async () => {
    const a = await setup(13);
    await trainOnce(a, 13);
    const dir = join(root, 'shapes');
    await saveCheckpoint(dir, a.model, a.step, countersOf(a, 1));
    const { tensors, metadata } = await loadSafetensors(join(dir, RUN_FILES.optimizer));
    expect(metadata).toEqual({ optimizer: 'adamw', updates: '1', microSteps: '1', epoch: '1', batchInEpoch: '0' });
    for (const [n, p] of a.model.namedParameters()) {
      expect(tensors.get(`${n}.exp_avg_sq`)!.shape, n).toEqual(p.shape);
      expect(bytesEqual(tensors.get(`${n}.exp_avg_sq`)!.data as Float32Array, a.step.optimizerState.get(`${n}.exp_avg_sq`)!), n).toBe(true);
    }
    // a state file of the same names but other counters loads its counters, not defaults
    await saveSafetensors(join(dir, RUN_FILES.optimizer), tensors, { ...metadata, microSteps: '5', epoch: '6', batchInEpoch: '2' });
    await writeManifest(dir);
    const b = await setup(14);
    expect(await loadCheckpoint(dir, b.model, b.step)).toEqual({ updates: 1, microSteps: 5, epoch: 6, batchInEpoch: 2 });
    expect([b.step.updates, b.step.microSteps]).toEqual([1, 5]);
  });
});
