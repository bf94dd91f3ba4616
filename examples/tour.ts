// The library in five minutes: a module, valueAndGrad, a compiled training step, inference and export.
// Run it with: node bin/run-ts.js examples/tour.ts
import { compile, exportOnnx, Forward, matmul, nn, optim, reduceMean, Rng, square, sub, trace, TrainStep, valueAndGrad, type Tensor } from 'switchyard';

// 1. A module: parameters are discovered from fields, named like a PyTorch state_dict (fc1.weight, ...).
class TwoLayer extends nn.Module {
  fc1 = new nn.Linear(2, 32);
  fc2 = new nn.Linear(32, 1);
  forward(x: Tensor): Tensor {
    return this.fc2.call(nn.gelu(this.fc1.call(x)));
  }
}
const model = new TwoLayer().init(42);
console.log('parameters:', model.namedParameters().map(([n, p]) => `${n}[${p.shape}]`).join(' '));

// 2. valueAndGrad: trace a loss, append its gradient graph, compile to ONNX, run on ONNX Runtime.
const graph = trace((g) => {
  const w = g.input('w', 'f32', [2, 1]);
  const x = g.input('x', 'f32', ['batch', 2]);
  const y = g.input('y', 'f32', ['batch', 1]);
  const { value, grads } = valueAndGrad((w) => reduceMean(square(sub(matmul(x, w), y))))(w);
  return { loss: value, dw: grads[0] };
});
const session = await compile(graph);
const r = await session.run({
  w: { dtype: 'f32', shape: [2, 1], data: Float32Array.of(0, 0) },
  x: { dtype: 'f32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
  y: { dtype: 'f32', shape: [2, 1], data: Float32Array.of(1, 1) },
});
console.log('loss', r.loss.data[0], 'dloss/dw', Array.from(r.dw.data as Float32Array));

// 3. A whole training step (forward, backward, AdamW) compiled once; 8 steps per ONNX Runtime call.
const rng = new Rng(0);
const N = 256;
const xs = Float32Array.from({ length: N * 2 }, () => rng.next() * 4 - 2);
const ys = Float32Array.from({ length: N }, (_, i) => Math.sin(xs[2 * i]) * Math.cos(xs[2 * i + 1]));
const step = await TrainStep.compile({
  model,
  optimizer: optim.adamw({ weightDecay: 0 }),
  batch: { x: { dtype: 'f32', shape: ['batch', 2] }, y: { dtype: 'f32', shape: ['batch', 1] } },
  loss: (m, b) => nn.mse(m.call(b.x), b.y),
});
const lrAt = optim.warmupCosine({ lr: 1e-2, warmup: 20, total: 800 });
const K = 8;
for (let call = 0; call < 100; call++) {
  const res = await step.run(
    { x: { dtype: 'f32', shape: [K, N, 2], data: new Float32Array(K * N * 2).map((_, i) => xs[i % (N * 2)]) }, y: { dtype: 'f32', shape: [K, N, 1], data: new Float32Array(K * N).map((_, i) => ys[i % N]) } },
    Array.from({ length: K }, (_, i) => lrAt(step.updates + i)),
  );
  if (call % 25 === 0 || call === 99) console.log(`update ${step.updates}: loss ${res.losses[K - 1].toFixed(5)}`);
}

// 4. Inference with the trained weights, and the deployable ONNX graph (weights baked in, batch symbolic).
const fwd = await Forward.compile(model, (m, b) => ({ y: m.call(b.x) }), { x: { dtype: 'f32', shape: ['batch', 2] } });
const pred = await fwd.run({ x: { dtype: 'f32', shape: [1, 2], data: Float32Array.of(0.5, -1) } });
console.log('f(0.5, -1) =', (pred.y.data[0] as number).toFixed(3), 'target', (Math.sin(0.5) * Math.cos(-1)).toFixed(3));
const onnx = exportOnnx(model, (m, b) => ({ y: m.call(b.x) }), { x: { dtype: 'f32', shape: ['batch', 2] } });
console.log('exported ONNX:', onnx.length, 'bytes');
await Promise.all([session.release(), step.release(), fwd.release()]);
