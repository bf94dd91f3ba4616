/**
 * Training on WebGPU is the same training: a tiny MLP classifier (integer labels, accuracy metric) and a tiny
 * LM train for several calls with the CPU's loss curves and evaluation losses, and a run's saved state (weights
 * and optimizer state through the normal checkpoint code) moves between the devices mid-run — WebGPU to CPU and
 * CPU to WebGPU — and continues like the uninterrupted CPU run. Tolerances are fp32's over a few updates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/core/graph.ts';
import { GPT, type GptConfig } from '../../src/models/gpt.ts';
import { accuracy, crossEntropy } from '../../src/nn/functional.ts';
import { MLP } from '../../src/nn/layers.ts';
import type { Module } from '../../src/nn/module.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import { releaseSharedWebGpuDevice } from '../../src/runtime/compile-for.ts';
import type { HostTensor } from '../../src/runtime/executor.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.ts';
import { Forward } from '../../src/train/forward.ts';
import { evaluateLm, lmRowLoss } from '../../src/train/lm.ts';
import { TrainStep, type TrainStepOptions } from '../../src/train/step.ts';
import { expectClose, f32, randArray } from '../train/helpers.ts';
import { probeDevice } from './helpers.ts';
import { expectSameState, releasePair, runBoth, stepPair, tokenBatches } from './step-helpers.ts';

const { gpu, title } = await probeDevice();
const dir = mkdtempSync(join(tmpdir(), 'sy-webgpu-train-'));
afterAll(async () => {
  await releaseSharedWebGpuDevice();
  rmSync(dir, { recursive: true, force: true });
});

const TOL = { rtol: 1e-3, atol: 1e-5 };
const FEATURES = 4;
const CLASSES = 3;
const B = 8;
const mlpSpec = {
  x: { dtype: 'f32' as const, shape: ['batch', FEATURES] },
  y: { dtype: 'i64' as const, shape: ['batch'] },
};
const mlpOptions: Omit<TrainStepOptions, 'model'> = {
  batch: mlpSpec,
  loss: (m, b) => {
    const out = m.call(b.x);
    return { loss: crossEntropy(out, b.y), metrics: { accuracy: accuracy(out, b.y) } };
  },
  optimizer: adamw({ weightDecay: 0.01 }),
  clipNorm: 1,
  seed: 2,
};
const makeMlp = (seed = 8) => () => new MLP([FEATURES, 8, CLASSES]).named().init(seed);

/** `k` micro-batches of a separable 3-class problem (class = the sign pattern of two features). */
function mlpBatches(seed: number, k: number): Record<string, HostTensor> {
  const x = randArray(seed, k * B * FEATURES);
  const label = (i: number) => (x[i * FEATURES] > 0 ? 1 : 0) + (x[i * FEATURES + 1] > 0.3 ? 1 : 0);
  const y = BigInt64Array.from({ length: k * B }, (_, i) => BigInt(label(i)));
  return { x: f32([k, B, FEATURES], x), y: { dtype: 'i64', shape: [k, B], data: y } };
}

const LM: GptConfig = {
  vocab: 16, dModel: 8, layers: 1, heads: 2, context: 6, mlpHidden: 16, activation: 'gelu', norm: 'layernorm',
  position: 'learned', tieWeights: false, dropout: 0,
};

describe.skipIf(!gpu)(title('training on WebGPU follows the CPU run'), () => {
  it('a tiny MLP classifier: loss and accuracy curves over 4 calls, and the evaluation pass', async () => {
    const pair = await stepPair(makeMlp(), mlpOptions);
    const evalFn = (m: Module, b: Record<string, Tensor>) => ({ loss: crossEntropy(m.call(b.x), b.y) });
    const fwd = [
      await Forward.compile(pair.cpuModel, evalFn, mlpSpec),
      await Forward.compile(pair.gpuModel, evalFn, mlpSpec, { device: 'webgpu' }),
    ];
    try {
      const held = mlpBatches(99, 1);
      const heldOut = { x: { ...held.x, shape: [B, FEATURES] }, y: { ...held.y, shape: [B] } };
      const curve: number[] = [];
      for (let call = 0; call < 4; call++) {
        const { want } = await runBoth(pair, mlpBatches(10 + call, 2), [3e-2, 3e-2], TOL);
        curve.push(...want.losses);
        const [cpuEval, gpuEval] = await Promise.all(fwd.map((f) => f.run(heldOut)));
        const [gotLoss, wantLoss] = [gpuEval, cpuEval].map((r) => r.loss.data as Float32Array);
        expectClose(gotLoss, wantLoss, TOL.rtol, TOL.atol, 'eval loss');
      }
      expect(curve[curve.length - 1]).toBeLessThan(curve[0]);
      await expectSameState(pair, TOL);
    } finally {
      await Promise.all(fwd.map((f) => f.release()));
      await releasePair(pair);
    }
  });

  it('a tiny LM: loss curve over 3 calls of 2 micro-steps, and the validation loss', async () => {
    const ids = { dtype: 'i64' as const, shape: [2, LM.context] };
    const spec = { x: ids, y: ids };
    const pair = await stepPair(() => new GPT(LM).init(1), {
      batch: spec, loss: (m, b) => (m as GPT).loss(b.x, b.y), clipNorm: 1,
      optimizer: adamw({ weightDecay: 0.1, beta2: 0.95 }),
    });
    const fwd = [
      await Forward.compile(pair.cpuModel, lmRowLoss, spec),
      await Forward.compile(pair.gpuModel, lmRowLoss, spec, { device: 'webgpu' }),
    ];
    try {
      const valid = Int32Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % LM.vocab);
      for (let call = 0; call < 3; call++) {
        await runBoth(pair, tokenBatches(20 + call, 2, 2, LM.context, LM.vocab), [1e-2, 1e-2], TOL);
        const [cpuValid, gpuValid] = await Promise.all(fwd.map((f) => evaluateLm(f, valid, LM.context, 2, 24)));
        expect(gpuValid.tokens).toBe(cpuValid.tokens);
        expectClose([gpuValid.loss], [cpuValid.loss], TOL.rtol, TOL.atol, 'validation loss');
      }
    } finally {
      await Promise.all(fwd.map((f) => f.release()));
      await releasePair(pair);
    }
  });

  it('a checkpoint saved on WebGPU resumes on the CPU, and one saved on the CPU resumes on WebGPU', async () => {
    // The uninterrupted CPU run: 3 calls.
    const ref = await stepPair(makeMlp(), mlpOptions);
    const hops = [] as TrainStep[];
    try {
      const lrs = [2e-2, 2e-2];
      const calls = [0, 1, 2].map((c) => mlpBatches(40 + c, 2));
      const want = [];
      for (const b of calls) want.push(await ref.cpu.run(b, lrs));
      for (const [from, to] of [['webgpu', 'cpu'], ['cpu', 'webgpu']] as const) {
        // Two calls on `from`, saved; a fresh model (other init) and step on `to` load it and run the third.
        const model = makeMlp()();
        const first = await TrainStep.compile({ ...mlpOptions, model, device: from, threads: 1 });
        hops.push(first);
        for (const b of calls.slice(0, 2)) await first.run(b, lrs);
        const ck = join(dir, `ck-${from}`);
        const counters = { updates: first.updates, microSteps: first.microSteps, epoch: 0, batchInEpoch: 0 };
        await saveCheckpoint(ck, model, first, counters);
        const resumedModel = makeMlp(77)();
        const second = await TrainStep.compile({ ...mlpOptions, model: resumedModel, device: to, threads: 1 });
        hops.push(second);
        await loadCheckpoint(ck, resumedModel, second);
        const got = await second.run(calls[2], lrs);
        expectClose(got.losses, want[2].losses, TOL.rtol, TOL.atol, `${from} -> ${to} losses`);
        expect(second.updates).toBe(ref.cpu.updates);
        await second.syncToHost();
        const truth = new Map(ref.cpuModel.namedParameters());
        for (const [n, p] of resumedModel.namedParameters()) {
          expectClose(p.data, truth.get(n)!.data, TOL.rtol, TOL.atol, n);
        }
        for (const [n, s] of ref.cpu.optimizerState) {
          expectClose(second.optimizerState.get(n)!, s, TOL.rtol, TOL.atol, n);
        }
      }
    } finally {
      for (const s of hops) await s.release();
      await releasePair(ref);
    }
  });
});
