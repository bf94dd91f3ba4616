/**
 * Helpers of the WebGPU training tests: the same model and step compiled for the CPU (ONNX Runtime) and for
 * WebGPU, run on the same batches, and their results compared within fp32 tolerances.
 */
import { expect } from 'vitest';
import type { Module } from '../../src/nn/module.ts';
import type { HostTensor } from '../../src/runtime/executor.ts';
import { TrainStep, type TrainStepOptions, type StepResult } from '../../src/train/step.ts';
import { expectClose } from '../train/helpers.ts';

/** Tolerances of a CPU-vs-WebGPU comparison (fp32 on both sides, different summation orders). */
export interface StepTol {
  rtol: number;
  atol: number;
}

/** A step compiled on both devices over two identically initialised models. */
export interface StepPair {
  cpu: TrainStep;
  gpu: TrainStep;
  cpuModel: Module;
  gpuModel: Module;
}

/** Compiles `opts` for the CPU and for WebGPU, each over its own model made by `makeModel` (same init). */
export async function stepPair(makeModel: () => Module, opts: Omit<TrainStepOptions, 'model'>): Promise<StepPair> {
  const cpuModel = makeModel();
  const gpuModel = makeModel();
  const cpu = await TrainStep.compile({ ...opts, model: cpuModel, device: 'cpu', threads: 1 });
  const gpu = await TrainStep.compile({ ...opts, model: gpuModel, device: 'webgpu' });
  return { cpu, gpu, cpuModel, gpuModel };
}

/** Runs one call on both steps and checks losses, gradient norms and metrics agree. */
export async function runBoth(pair: StepPair, batches: Record<string, HostTensor>, lrs: number[], tol: StepTol) {
  const want = await pair.cpu.run(batches, lrs);
  const got = await pair.gpu.run(batches, lrs);
  expectSameResult(got, want, tol);
  return { want, got };
}

/** Losses, gradient norms and metrics of two step results agree within `tol`. */
export function expectSameResult(got: StepResult, want: StepResult, tol: StepTol): void {
  expect(want.nonFinite).toBeNull();
  expect(got.nonFinite).toBeNull();
  expectClose(got.losses, want.losses, tol.rtol, tol.atol, 'losses');
  expectClose(got.gradNorms, want.gradNorms, tol.rtol, tol.atol, 'gradNorms');
  for (const [name, values] of Object.entries(want.metrics)) {
    expectClose(got.metrics[name], values, tol.rtol, tol.atol, `metric ${name}`);
  }
}

/**
 * Parameters (host copies, synced from the GPU) and optimizer state of both steps agree within `tol`; entries
 * that `loose` names (parameter name -> element indices) within `looseAtol` instead.
 */
export async function expectSameState(
  pair: StepPair, tol: StepTol, loose = new Map<string, Set<number>>(), looseAtol = 0,
): Promise<void> {
  await pair.gpu.syncToHost();
  const want = new Map(pair.cpuModel.namedParameters());
  for (const [name, p] of pair.gpuModel.namedParameters()) {
    const skip = loose.get(name);
    const keep = (_: number, i: number) => !skip?.has(i);
    const expected = want.get(name)!.data;
    expectClose(p.data.filter(keep), expected.filter(keep), tol.rtol, tol.atol, name);
    const only = (_: number, i: number) => !!skip?.has(i);
    if (skip) expectClose(p.data.filter(only), expected.filter(only), 0, looseAtol, name);
  }
  expect(pair.gpu.updates).toBe(pair.cpu.updates);
  for (const [name, s] of pair.cpu.optimizerState) {
    expectClose(pair.gpu.optimizerState.get(name)!, s, tol.rtol, tol.atol, name);
  }
}

/** `k` micro-batches of `batch` token windows (ids and next-token targets) from a fixed pseudo-random stream. */
export function tokenBatches(seed: number, k: number, batch: number, context: number, vocab: number) {
  const n = k * batch * context;
  const x = new BigInt64Array(n);
  const y = new BigInt64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = BigInt(s % vocab);
    y[i] = BigInt((s >> 8) % vocab);
  }
  const shape = [k, batch, context];
  return { x: { dtype: 'i64' as const, shape, data: x }, y: { dtype: 'i64' as const, shape, data: y } };
}

/** Releases both steps. */
export async function releasePair(pair: StepPair): Promise<void> {
  await Promise.all([pair.cpu.release(), pair.gpu.release()]);
}
