/**
 * What one WebGPU training call costs (issue 13), per micro-steps per call K: compute dispatches, bytes uploaded
 * and bytes read back, against what the call would move if the weights and optimizer state crossed to the host
 * every call (as on ONNX Runtime). A small dense GPT (the step-equivalence test's shape, or `--small` for
 * GPT_PRESETS.tiny). Counts, not speed: on lavapipe wall time is reported only to show the trend with K.
 * Run: `node bin/run-ts.js bench/webgpu-residency.ts [--small] [--json]`.
 */
import { GPT, GPT_PRESETS, type GptConfig } from '../src/models/gpt.ts';
import { adamw } from '../src/optim/optimizer.ts';
import { releaseSharedWebGpuDevice, webGpuAdapter } from '../src/runtime/compile-for.ts';
import { TrainStep } from '../src/train/step.ts';

const TEST_GPT: GptConfig = {
  vocab: 24, dModel: 16, layers: 2, heads: 2, context: 6, mlpHidden: 24, activation: 'gelu', norm: 'layernorm',
  position: 'learned', tieWeights: false, dropout: 0,
};
const cfg = process.argv.includes('--small') ? { ...GPT_PRESETS.tiny, context: 32 } : TEST_GPT;
const batch = 2;
const rows: Record<string, number>[] = [];
try {
  for (const k of [1, 3, 8]) {
    const model = new GPT(cfg).init(0);
    const ids = { dtype: 'i64' as const, shape: [batch, cfg.context] };
    const step = await TrainStep.compile({
      model, batch: { x: ids, y: ids }, loss: (m, b) => (m as GPT).loss(b.x, b.y), optimizer: adamw(), clipNorm: 1,
      device: 'webgpu',
    });
    const n = k * batch * cfg.context;
    const data = BigInt64Array.from({ length: n }, (_, i) => BigInt(i % cfg.vocab));
    const tokens = { dtype: 'i64' as const, shape: [k, batch, cfg.context], data };
    const lrs = Array.from({ length: k }, () => 1e-3);
    await step.run({ x: tokens, y: tokens }, lrs); // warm-up: pipelines compiled, state uploaded
    const t0 = performance.now();
    await step.run({ x: tokens, y: tokens }, lrs);
    const ms = performance.now() - t0;
    const traffic = step.lastRun!;
    const stateBytes = 4 * (model.parameterCount() * 3); // weights + AdamW's two moments
    rows.push({ k, ...traffic, stateBytes, hostRoundTripBytes: 2 * stateBytes, ms, msPerMicroStep: ms / k });
    await step.release();
  }
  const adapter = (await webGpuAdapter())?.description;
  if (process.argv.includes('--json')) console.log(JSON.stringify({ adapter, cfg, batch, rows }));
  else {
    console.log(`adapter: ${adapter}; GPT d=${cfg.dModel} layers=${cfg.layers} context=${cfg.context} batch=${batch}`);
    console.table(rows);
  }
} finally {
  await releaseSharedWebGpuDevice();
}
