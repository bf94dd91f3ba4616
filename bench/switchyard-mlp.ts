import { pathToFileURL } from 'node:url';
import { crossEntropy, MLP } from '../src/nn/index.ts';
import { adamw, sgd } from '../src/optim/index.ts';
import { TrainStep } from '../src/train/step.ts';
import { Rng } from '../src/util/rng.ts';
import { mlpStepFlops } from './flops.ts';
import { median, timeIt } from './stats.ts';
import type { StepResult } from './tfjs-mlp.ts';

/**
 * Switchyard's MLP training step (forward + backward + AdamW in one ONNX graph), `stepsPerCall` steps per
 * ORT call through the Loop. Same model, batch and FLOP count as the TF.js peers.
 */
export async function measureSwitchyardMlp(opts: { batch?: number; inDim?: number; hidden?: number; classes?: number; seconds?: number; stepsPerCall?: number; threads?: number; optimizer?: 'adamw' | 'sgd' } = {}): Promise<StepResult> {
  const B = opts.batch ?? 256;
  const D = opts.inDim ?? 784;
  const H = opts.hidden ?? 1024;
  const C = opts.classes ?? 10;
  const K = opts.stepsPerCall ?? 16;
  const model = new MLP([D, H, C]).init(1234);
  const step = await TrainStep.compile({
    model,
    optimizer: opts.optimizer === 'sgd' ? sgd() : adamw({ weightDecay: 0.01 }),
    batch: { x: { dtype: 'f32', shape: ['batch', D] }, y: { dtype: 'i64', shape: ['batch'] } },
    loss: (m, b) => crossEntropy(m.call(b.x), b.y),
    threads: opts.threads ?? 2,
  });
  const rng = new Rng(1234);
  const x = Float32Array.from({ length: K * B * D }, () => rng.normal());
  const y = BigInt64Array.from({ length: K * B }, () => BigInt(rng.int(C)));
  const batches = { x: { dtype: 'f32' as const, shape: [K, B, D], data: x }, y: { dtype: 'i64' as const, shape: [K, B], data: y } };
  const lrs = Array(K).fill(1e-3);
  const samples = await timeIt(() => step.run(batches, lrs), { warmup: 8, seconds: opts.seconds ?? 5, minRuns: 5 });
  await step.release();
  const ms = median(samples) / K;
  const flops = mlpStepFlops(B, D, H, C);
  return { name: `switchyard (K=${K}${opts.optimizer === 'sgd' ? ', SGD' : ''})`, backend: 'onnxruntime-node cpu', batch: B, msPerStep: ms, examplesPerSec: (B * 1000) / ms, gflops: flops / ms / 1e6, steps: samples.length * K, notes: `${K} steps per ORT call (ONNX Loop); ${opts.optimizer === 'sgd' ? 'plain SGD' : 'AdamW'} in-graph; 2 intra-op threads` };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const k = Number(process.argv[process.argv.indexOf('--k') + 1]) || 16;
  console.log(JSON.stringify(await measureSwitchyardMlp({ stepsPerCall: k })));
}
