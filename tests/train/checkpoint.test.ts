import { cpSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mse } from '../../src/nn/functional.ts';
import { MLP } from '../../src/nn/layers.ts';
import { adamw, sgd, type Optimizer } from '../../src/optim/optimizer.ts';
import { decodeSafetensors } from '../../src/runtime/safetensors.ts';
import { copyWeights, loadCheckpoint, loadWeights, RUN_FILES, saveCheckpoint } from '../../src/train/checkpoint.ts';
import { type BatchSpec, TrainStep } from '../../src/train/step.ts';
import { MANIFEST_NAME, writeManifest } from '../../src/util/fs.ts';
import { bytesEqual, expectSwitchyardError, f32, randArray, snapshot } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'sy-ckpt-'));
const steps: TrainStep[] = [];
afterAll(async () => {
  for (const s of steps) await s.release();
  rmSync(root, { recursive: true, force: true });
});

const SPEC: BatchSpec = { x: { dtype: 'f32', shape: ['batch', 4] }, y: { dtype: 'f32', shape: ['batch', 2] } };
const batches = (call: number, k = 2, B = 6) => ({ x: f32([k, B, 4], randArray(100 + call, k * B * 4)), y: f32([k, B, 2], randArray(200 + call, k * B * 2)) });
const lrsFor = (call: number) => [0.02 / (call + 1), 0.015 / (call + 1)];

async function setup(initSeed: number, hidden = 8, optimizer: Optimizer = adamw({ weightDecay: 0.05 })) {
  const model = new MLP([4, hidden, 2], { dropout: 0.25 }).init(initSeed);
  const step = await TrainStep.compile({ model, optimizer, batch: SPEC, loss: (m, b) => mse(m.call(b.x), b.y), threads: 1, seed: 9 });
  steps.push(step);
  return { model, step };
}

describe('checkpoints', () => {
  it('round-trips weights, optimizer state and counters; resuming is bit-identical to never stopping', async () => {
    const dir = join(root, 'resume');
    const a = await setup(1);
    for (const call of [0, 1]) await a.step.run(batches(call), lrsFor(call));
    const savedParams = snapshot(a.model);
    const savedState = new Map([...a.step.optimizerState].map(([n, s]) => [n, Float32Array.from(s)]));
    await saveCheckpoint(dir, a.model, a.step, { updates: a.step.updates, microSteps: a.step.microSteps, epoch: 1, batchInEpoch: 3 });
    // nothing half-written is left behind
    expect(readdirSync(dir).sort()).toEqual([MANIFEST_NAME, RUN_FILES.model, RUN_FILES.optimizer].sort());
    expect(readdirSync(root).filter((f) => f.startsWith('resume.'))).toEqual([]);
    for (const call of [2, 3]) await a.step.run(batches(call), lrsFor(call));

    const b = await setup(77); // different initial weights, fresh optimizer state
    const counters = await loadCheckpoint(dir, b.model, b.step);
    expect(counters).toEqual({ updates: 4, microSteps: 4, epoch: 1, batchInEpoch: 3 });
    expect([b.step.updates, b.step.microSteps]).toEqual([4, 4]);
    for (const [n, p] of snapshot(b.model)) expect(bytesEqual(p, savedParams.get(n)!), n).toBe(true);
    expect([...b.step.optimizerState.keys()]).toEqual([...savedState.keys()]);
    for (const [n, s] of b.step.optimizerState) expect(bytesEqual(s, savedState.get(n)!), n).toBe(true);

    for (const call of [2, 3]) await b.step.run(batches(call), lrsFor(call));
    for (const [n, p] of snapshot(b.model)) expect(bytesEqual(p, snapshot(a.model).get(n)!), n).toBe(true);
    for (const [n, s] of b.step.optimizerState) expect(bytesEqual(s, a.step.optimizerState.get(n)!), n).toBe(true);
    expect([b.step.updates, b.step.microSteps]).toEqual([a.step.updates, a.step.microSteps]);
  });

  it('resuming without the counters would not be identical (the test above is sensitive to them)', async () => {
    const dir = join(root, 'counters');
    const a = await setup(2);
    await a.step.run(batches(0), lrsFor(0));
    await saveCheckpoint(dir, a.model, a.step, { updates: a.step.updates, microSteps: a.step.microSteps, epoch: 0, batchInEpoch: 0 });
    await a.step.run(batches(1), lrsFor(1));
    const b = await setup(2);
    await loadCheckpoint(dir, b.model, b.step);
    b.step.updates = 0; // forget the bias-correction counter and the dropout position
    b.step.microSteps = 0;
    await b.step.run(batches(1), lrsFor(1));
    expect(bytesEqual(b.model.layers[0].weight.data, a.model.layers[0].weight.data)).toBe(false);
  });

  it('writes safetensors with PyTorch names and F32 dtype that decodeSafetensors reads', async () => {
    const dir = join(root, 'format');
    const a = await setup(3);
    await a.step.run(batches(0), lrsFor(0));
    await saveCheckpoint(dir, a.model, a.step, { updates: a.step.updates, microSteps: a.step.microSteps, epoch: 2, batchInEpoch: 0 }, { note: 'x' });
    const model = decodeSafetensors(readFileSync(join(dir, RUN_FILES.model)), RUN_FILES.model);
    expect([...model.tensors.keys()].sort()).toEqual(['layers.0.bias', 'layers.0.weight', 'layers.1.bias', 'layers.1.weight']);
    expect(model.metadata.format).toBe('pt');
    expect(model.metadata.note).toBe('x');
    for (const [n, p] of a.model.namedParameters()) {
      const t = model.tensors.get(n)!;
      expect(t.dtype, n).toBe('F32');
      expect(t.shape, n).toEqual(p.shape);
      expect(bytesEqual(t.data as Float32Array, p.data), n).toBe(true);
    }
    expect(model.tensors.get('layers.0.weight')!.shape).toEqual([8, 4]);

    const opt = decodeSafetensors(readFileSync(join(dir, RUN_FILES.optimizer)), RUN_FILES.optimizer);
    expect(opt.metadata).toMatchObject({ optimizer: 'adamw', updates: '2', microSteps: '2', epoch: '2', batchInEpoch: '0' });
    const expectedNames = a.model.namedParameters().flatMap(([n]) => [`${n}.exp_avg`, `${n}.exp_avg_sq`]);
    expect([...opt.tensors.keys()].sort()).toEqual(expectedNames.sort());
    for (const [n, p] of a.model.namedParameters()) {
      const m = opt.tensors.get(`${n}.exp_avg`)!;
      expect(m.dtype).toBe('F32');
      expect(m.shape).toEqual(p.shape);
      expect(bytesEqual(m.data as Float32Array, a.step.optimizerState.get(`${n}.exp_avg`)!)).toBe(true);
    }
  });

  it('a checkpoint of a different shape fails with E_CHECKPOINT naming the parameter, leaving the model as it was', async () => {
    const dir = join(root, 'shape');
    const a = await setup(4, 8);
    await saveCheckpoint(dir, a.model, a.step, { updates: 0, microSteps: 0, epoch: 0, batchInEpoch: 0 });
    const b = await setup(5, 9);
    const before = snapshot(b.model);
    await expectSwitchyardError(() => loadCheckpoint(dir, b.model, b.step), 'E_CHECKPOINT', /layers\.0\.weight.*\[9,4\]|layers\.0\.weight.*\[8,4\]/);
    await expectSwitchyardError(() => loadWeights(dir, b.model), 'E_CHECKPOINT', /model\.safetensors.*layers\.0\.weight/);
    for (const [n, p] of snapshot(b.model)) expect(bytesEqual(p, before.get(n)!), n).toBe(true);
    expect(b.step.updates).toBe(0);
  });

  it('resuming with another optimizer or from a weights-only directory is refused', async () => {
    const dir = join(root, 'opt');
    const a = await setup(6);
    await saveCheckpoint(dir, a.model, a.step, { updates: 0, microSteps: 0, epoch: 0, batchInEpoch: 0 });
    const b = await setup(6, 8, sgd({ momentum: 0.9 }));
    const e = await expectSwitchyardError(() => loadCheckpoint(dir, b.model, b.step), 'E_CHECKPOINT', /adamw.*sgd/);
    expect(e.hint).toBe('resume with the same optimizer');

    const weightsOnly = join(root, 'weights-only');
    await saveCheckpoint(weightsOnly, a.model, null, { updates: 0, microSteps: 0, epoch: 0, batchInEpoch: 0 });
    expect(readdirSync(weightsOnly).sort()).toEqual([MANIFEST_NAME, RUN_FILES.model]);
    const c = await setup(7);
    await expectSwitchyardError(() => loadCheckpoint(weightsOnly, c.model, c.step), 'E_FILE_NOT_FOUND', /optimizer\.safetensors/);
    await loadWeights(weightsOnly, c.model);
    for (const [n, p] of snapshot(c.model)) expect(bytesEqual(p, snapshot(a.model).get(n)!), n).toBe(true);
    await expectSwitchyardError(() => loadWeights(join(root, 'nope'), c.model), 'E_FILE_NOT_FOUND');
  });

  it('a checkpoint is one verified set: a flipped byte, or files from two moments, are refused', async () => {
    const a = await setup(8);
    const early = join(root, 'early');
    const dir = join(root, 'set');
    await saveCheckpoint(early, a.model, a.step, { updates: a.step.updates, microSteps: a.step.microSteps, epoch: 0, batchInEpoch: 0 });
    await a.step.run(batches(0), lrsFor(0));
    await saveCheckpoint(dir, a.model, a.step, { updates: a.step.updates, microSteps: a.step.microSteps, epoch: 1, batchInEpoch: 0 }, {}, { best: copyWeights(a.model), state: { note: 1 } });
    const b = await setup(8);
    const ck = await loadCheckpoint(dir, b.model, b.step);
    expect(ck.state).toMatchObject({ note: 1, counters: { updates: 2 } });
    expect(ck.best?.get('layers.0.weight')?.data).toEqual(a.model.layers[0].weight.data);

    const flipped = join(root, 'flipped');
    cpSync(dir, flipped, { recursive: true });
    const bytes = readFileSync(join(flipped, RUN_FILES.optimizer));
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(join(flipped, RUN_FILES.optimizer), bytes);
    await expectSwitchyardError(() => loadCheckpoint(flipped, b.model, b.step), 'E_MANIFEST', /optimizer\.safetensors: sha256 differs/);

    // The optimizer state of update 0 beside the weights of update 2, with a manifest to match: still refused.
    const torn = join(root, 'torn');
    cpSync(dir, torn, { recursive: true });
    cpSync(join(early, RUN_FILES.optimizer), join(torn, RUN_FILES.optimizer));
    await writeManifest(torn);
    await expectSwitchyardError(() => loadCheckpoint(torn, b.model, b.step), 'E_CHECKPOINT', /update 2, optimizer\.safetensors update 0/);
  });

  it('after a crash between the two renames of a save, the set put aside is loaded', async () => {
    const a = await setup(9);
    const dir = join(root, 'aside');
    await saveCheckpoint(dir, a.model, a.step, { updates: a.step.updates, microSteps: a.step.microSteps, epoch: 0, batchInEpoch: 0 });
    renameSync(dir, `${dir}.old`); // the state a SIGKILL between the renames leaves
    const b = await setup(10);
    expect((await loadCheckpoint(dir, b.model, b.step)).epoch).toBe(0);
    for (const [n, p] of snapshot(b.model)) expect(bytesEqual(p, snapshot(a.model).get(n)!), n).toBe(true);
    await a.step.run(batches(0), lrsFor(0));
    await saveCheckpoint(dir, a.model, a.step, { updates: a.step.updates, microSteps: a.step.microSteps, epoch: 1, batchInEpoch: 0 });
    expect(readdirSync(root).filter((f) => f.startsWith('aside'))).toEqual(['aside']);
  });
});
