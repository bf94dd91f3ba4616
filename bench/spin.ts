import { pathToFileURL } from 'node:url';
import type { SpinPolicy } from '../src/runtime/session.ts';
import { crossEntropy, MLP } from '../src/nn/index.ts';
import { adamw } from '../src/optim/index.ts';
import { Forward } from '../src/train/forward.ts';
import { TrainStep } from '../src/train/step.ts';
import { Rng } from '../src/util/rng.ts';
import { median, timeIt } from './stats.ts';

/**
 * Train and eval sessions used alternately (as in a training loop with periodic validation): the time of one
 * train step followed by one eval batch, under each {@link SpinPolicy}.
 */
export async function measureSpin(spin: SpinPolicy, seconds = 4): Promise<{ spin: SpinPolicy; msPerPair: number; samples: number }> {
  const B = 256;
  const model = new MLP([784, 1024, 10]).init(7);
  const spec = { x: { dtype: 'f32' as const, shape: ['batch', 784] }, y: { dtype: 'i64' as const, shape: ['batch'] } };
  const step = await TrainStep.compile({ model, optimizer: adamw(), batch: spec, loss: (m, b) => crossEntropy(m.call(b.x), b.y), threads: 2, spin });
  const fwd = await Forward.compile(model, (m, b) => ({ loss: crossEntropy(m.call(b.x), b.y) }), spec, { threads: 2, spin });
  const rng = new Rng(7);
  const x = Float32Array.from({ length: B * 784 }, () => rng.normal());
  const y = BigInt64Array.from({ length: B }, () => BigInt(rng.int(10)));
  const samples = await timeIt(
    async () => {
      await step.run({ x: { dtype: 'f32', shape: [1, B, 784], data: x }, y: { dtype: 'i64', shape: [1, B], data: y } }, [1e-3]);
      await fwd.run({ x: { dtype: 'f32', shape: [B, 784], data: x }, y: { dtype: 'i64', shape: [B], data: y } });
    },
    { warmup: 8, seconds },
  );
  await step.release();
  await fwd.release();
  return { spin, msPerPair: median(samples), samples: samples.length };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const s of ['run', 'always', 'never', 'run', 'always', 'never'] as const) console.log(JSON.stringify(await measureSpin(s)));
}
