/**
 * Conv2d forward + backward on a representative U-Net layer (issue 14): x [16, 64, 32, 32], a 3x3 kernel
 * 64 -> 64, padding 1, onnxruntime-node at 2 threads, against the ORT MatMul ceiling measured in the same rounds.
 *
 * Rows:
 * - `fwd+bwd (shipped)`: the IR graph `y = conv2d(x, w)` and `backward(y, [x, w], dy)` through Switchyard's own
 *   lowering (src/runtime/onnx/lower-conv.ts), i.e. what a training step runs for this layer;
 * - each pass alone in every lowering tried: forward as ONNX Conv or explicit im2col + MatMul; the input gradient
 *   as ConvTranspose or as a Conv with the flipped, transposed weight (stride 1); the weight gradient as
 *   im2col + MatMul (shipped) or as a Conv with the roles of input and weight swapped.
 * Large outputs are summed to a scalar inside the graph, so the ~1.7 GB/s copy back to JS of a 4 MB tensor does
 * not count (a training step keeps them inside the graph too). PyTorch is measured when `import torch` works.
 * Rounds alternate the rows; within a row, its runs alternate with runs of the ceiling's MatMul (256x1024x1024), so
 * both see the same share of a contended machine. The table shows medians over rounds of each row's median ms, and
 * of its rate as a fraction of the MatMul's median rate measured alongside it.
 *
 *   node bin/run-ts.js bench/conv.ts [--quick]
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { backward, conv2d, Graph, matmul, reduceSum, trace } from '../src/core/index.ts';
import type { ConvAttrs } from '../src/core/ops/conv.ts';
import { im2col } from '../src/runtime/onnx/lower-conv.ts';
import { GraphEmitter, OPSET } from '../src/runtime/onnx/lower.ts';
import { attr, encodeModel, type OnnxModel } from '../src/runtime/onnx/proto.ts';
import { validateModel } from '../src/runtime/onnx/validate.ts';
import { compile, sessionOptions } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';
import { measureOrtMatmul } from './ort-matmul.ts';
import { formatNumber, updateBenchmarksMd, writeBenchResult } from './report.ts';
import { median, timeIt } from './stats.ts';

const [N, C, O, H, W, K, P] = [16, 64, 64, 32, 32, 3, 1];
/** FLOPs of one pass (forward, input gradient or weight gradient): 2 N O H W C K^2. */
const PASS_FLOPS = 2 * N * O * H * W * C * K * K;
const CONV: ConvAttrs = { stride: [1, 1], pads: [P, P, P, P], dilation: [1, 1], groups: 1 };
const DIMS = { c: C, h: H, w: W, kh: K, kw: K, oh: H, ow: W };

/** One pass in one lowering: emits ONNX nodes from inputs x, w, dy and returns its output summed to a scalar. */
type Build = (em: GraphEmitter) => string;
const sum = (em: GraphEmitter, v: string) => em.emit('ReduceSum', [v], { keepdims: attr.int(0) })[0];
const convAttrs = {
  strides: attr.ints([1, 1]), pads: attr.ints([P, P, P, P]), dilations: attr.ints([1, 1]), group: attr.int(1),
  kernel_shape: attr.ints([K, K]),
};

const PASSES: Record<string, Build> = {
  'fwd: Conv': (em) => sum(em, em.emit('Conv', ['x', 'w'], convAttrs)[0]),
  'fwd: im2col + MatMul': (em) => {
    const cols = im2col(em, 'x', CONV, DIMS);
    const [wm] = em.emit('Reshape', ['w', em.ints([1, O, C * K * K])]);
    return sum(em, em.emit('MatMul', [wm, cols])[0]);
  },
  'dx: ConvTranspose': (em) => sum(em, em.emit('ConvTranspose', ['dy', 'w'], convAttrs)[0]),
  'dx: Conv, flipped weight': (em) => {
    const [wt] = em.emit('Transpose', ['w'], { perm: attr.ints([1, 0, 2, 3]) });
    const [flip] = em.emit('Slice', [
      wt, em.ints([-1, -1]), em.ints([-K - 1, -K - 1]), em.ints([2, 3]), em.ints([-1, -1]),
    ]);
    const pads = attr.ints(Array(4).fill(K - 1 - P));
    return sum(em, em.emit('Conv', ['dy', flip], { ...convAttrs, pads })[0]);
  },
  'dw: im2col + MatMul (shipped)': (em) => {
    const cols = im2col(em, 'x', CONV, DIMS);
    const [g] = em.emit('Reshape', ['dy', em.ints([-1, 1, O, H * W])]);
    const [per] = em.emit('MatMul', [g, em.emit('Transpose', [cols], { perm: attr.ints([0, 1, 3, 2]) })[0]]);
    return sum(em, per);
  },
  'dw: im2col + MatMul, dy transposed': (em) => {
    const cols = im2col(em, 'x', CONV, DIMS);
    const [g] = em.emit('Reshape', ['dy', em.ints([-1, 1, O, H * W])]);
    const [per] = em.emit('MatMul', [cols, em.emit('Transpose', [g], { perm: attr.ints([0, 1, 3, 2]) })[0]]);
    return sum(em, per);
  },
  'dw: Gather im2col + MatMul': (em) => {
    // One Gather of every tap's pixel from the padded, flattened image: cols [N, C, K*K*H*W] in a single copy.
    const [xp] = em.emit('Pad', ['x', em.ints([0, 0, P, P, 0, 0, P, P])]);
    const [flat] = em.emit('Reshape', [xp, em.ints([N, C, (H + 2 * P) * (W + 2 * P)])]);
    const idx: number[] = [];
    for (let kh = 0; kh < K; kh++) {
      for (let kw = 0; kw < K; kw++) {
        for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) idx.push((i + kh) * (W + 2 * P) + j + kw);
      }
    }
    const [cols] = em.emit('Gather', [flat, em.ints(idx)], { axis: attr.int(2) });
    const [c4] = em.emit('Reshape', [cols, em.ints([N, 1, C * K * K, H * W])]);
    const [g] = em.emit('Reshape', ['dy', em.ints([-1, 1, O, H * W])]);
    const [per] = em.emit('MatMul', [g, em.emit('Transpose', [c4], { perm: attr.ints([0, 1, 3, 2]) })[0]]);
    return sum(em, per);
  },
  'dw: Conv, input and weight swapped': (em) => {
    const [xt] = em.emit('Transpose', ['x'], { perm: attr.ints([1, 0, 2, 3]) });
    const [gt] = em.emit('Transpose', ['dy'], { perm: attr.ints([1, 0, 2, 3]) });
    const [cw] = em.emit('Conv', [xt, gt], { ...convAttrs, kernel_shape: attr.ints([H, W]) });
    return sum(em, em.emit('Transpose', [cw], { perm: attr.ints([1, 0, 2, 3]) })[0]);
  },
};

async function passSession(build: Build): Promise<ort.InferenceSession> {
  const em = new GraphEmitter(new Map(), { n: 0 }, new Graph(), null, OPSET);
  const out = build(em);
  em.emit('Identity', [out], {}, ['out']);
  const vi = (name: string, shape: number[]) => ({ name, dtype: 'float32' as const, shape });
  const model: OnnxModel = {
    opset: OPSET, producerName: 'bench',
    graph: {
      name: 'conv', nodes: em.nodes, inputs: [vi('x', [N, C, H, W]), vi('w', [O, C, K, K]), vi('dy', [N, O, H, W])],
      outputs: [{ name: 'out', dtype: 'float32', shape: [] }], initializers: [],
    },
  };
  validateModel(model);
  return ort.InferenceSession.create(encodeModel(model), sessionOptions({ threads: 2 }));
}

function randomData(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.next() - 0.5);
}

/** PyTorch CPU (2 threads) on the same layer, forward + backward; null when torch is not importable. */
function torchMs(seconds: number): number | null {
  const script = `
import time, torch
torch.set_num_threads(2)
x = torch.randn(${N}, ${C}, ${H}, ${W}, requires_grad=True)
conv = torch.nn.Conv2d(${C}, ${O}, ${K}, padding=${P}, bias=False)
dy = torch.randn(${N}, ${O}, ${H}, ${W})
def step():
    x.grad = None; conv.weight.grad = None
    conv(x).backward(dy)
for _ in range(3): step()
ts = []; end = time.time() + ${seconds}
while time.time() < end or len(ts) < 5:
    t0 = time.perf_counter(); step(); ts.append((time.perf_counter() - t0) * 1000)
ts.sort(); print(ts[len(ts) // 2])`;
  try {
    const out = execFileSync('python3', ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return Number(out.trim());
  } catch {
    return null;
  }
}

const quick = process.argv.includes('--quick');
const rounds = quick ? 1 : 3;
const seconds = quick ? 1 : 3;
const log = (s: string) => process.stderr.write(`${s}\n`);

const x = randomData(N * C * H * W, 1);
const w = randomData(O * C * K * K, 2);
const dy = randomData(N * O * H * W, 3);
const SHAPES = { x: [N, C, H, W], w: [O, C, K, K], dy: [N, O, H, W] };
const ortF32 = (data: Float32Array, shape: number[]) => new ort.Tensor('float32', data, shape);
const feeds = { x: ortF32(x, SHAPES.x), w: ortF32(w, SHAPES.w), dy: ortF32(dy, SHAPES.dy) };
const sessions: Record<string, ort.InferenceSession> = {};
for (const [k, b] of Object.entries(PASSES)) sessions[k] = await passSession(b);

const step = trace((g) => {
  const xi = g.input('x', 'f32', [N, C, H, W]);
  const wi = g.input('w', 'f32', [O, C, K, K]);
  const y = conv2d(xi, wi, { padding: P });
  const [dx, dw] = backward(y, [xi, wi], g.input('dy', 'f32', [N, O, H, W]));
  return { y: reduceSum(y), dx: reduceSum(dx), dw };
});
const shipped = await compile(step, { threads: 2 });
const hostF32 = (shape: number[], data: Float32Array) => ({ dtype: 'f32' as const, shape, data });
const host = { x: hostF32(SHAPES.x, x), w: hostF32(SHAPES.w, w), dy: hostF32(SHAPES.dy, dy) };

const STEP = 'fwd+bwd (shipped)';
const runs: Record<string, { passes: number; run: () => Promise<unknown> }> = {
  [STEP]: { passes: 3, run: () => shipped.run(host) },
  ...Object.fromEntries(Object.entries(sessions).map(([k, s]) => [k, { passes: 1, run: () => s.run(feeds) }])),
};
const loadBefore = loadavg()[0];
const ms: Record<string, number[]> = {};
const frac: Record<string, number[]> = {};
const ceilings: number[] = [];
const torch: number[] = [];
await measureOrtMatmul({ m: 256, k: 1024, n: 1024, seconds: 1 }); // the first session of a process runs slow
// The ceiling's product, run between the row's runs: both see the same share of a contended machine.
const [MM, MK, MN] = [256, 1024, 1024];
const mmGraph = trace((g) => ({ y: matmul(g.input('a', 'f32', [MM, MK]), g.input('b', 'f32', [MK, MN])) }));
const matmulSession = await compile(mmGraph, { threads: 2 });
const mmFeeds = { a: hostF32([MM, MK], randomData(MM * MK, 4)), b: hostF32([MK, MN], randomData(MK * MN, 5)) };
const runMatmul = () => matmulSession.run(mmFeeds);

/** Median ms of `run` and of the ceiling's MatMul, timed alternately (one row run, then 3 MatMuls) for `seconds`. */
async function paired(run: () => Promise<unknown>): Promise<{ rowMs: number; ceilingGflops: number }> {
  for (let i = 0; i < 5; i++) {
    await run();
    await runMatmul();
  }
  const rowTimes: number[] = [];
  const mmTimes: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until || rowTimes.length < 5) {
    rowTimes.push(...(await timeIt(run, { warmup: 0, minRuns: 1, maxRuns: 1 })));
    mmTimes.push(...(await timeIt(runMatmul, { warmup: 0, minRuns: 3, maxRuns: 3 })));
  }
  return { rowMs: median(rowTimes), ceilingGflops: (2 * MM * MK * MN) / median(mmTimes) / 1e6 };
}
for (let round = 0; round < rounds; round++) {
  log(`round ${round + 1}`);
  for (const [name, r] of Object.entries(runs)) {
    const { rowMs: t, ceilingGflops: ceiling } = await paired(r.run);
    ceilings.push(ceiling);
    const gflops = (r.passes * PASS_FLOPS) / t / 1e6;
    (ms[name] ??= []).push(t);
    (frac[name] ??= []).push(gflops / ceiling);
    const pct = ((100 * gflops) / ceiling).toFixed(0);
    log(`  ${name}: ${t.toFixed(2)} ms, ${gflops.toFixed(1)} GFLOP/s, ${pct}% of the ceiling (${ceiling.toFixed(1)})`);
  }
  const t = torchMs(seconds);
  if (t !== null) torch.push(t);
}
await shipped.release();
await matmulSession.release();
for (const s of Object.values(sessions)) await s.release();

const rows = Object.keys(runs).map((name) => {
  const t = median(ms[name]);
  const gflops = (runs[name].passes * PASS_FLOPS) / t / 1e6;
  return { name, passes: runs[name].passes, ms: t, gflops, ofCeiling: median(frac[name]), rounds: ms[name] };
});
const ceiling = median(ceilings);
const load = [loadBefore, loadavg()[0]];
const torchMedian = torch.length ? median(torch) : NaN;
const torchGflops = (3 * PASS_FLOPS) / torchMedian / 1e6;
const torchRow = torch.length ? { name: 'PyTorch CPU fwd+bwd', passes: 3, ms: torchMedian, gflops: torchGflops } : null;
writeBenchResult(quick ? 'conv-quick' : 'conv', {
  layer: { n: N, c: C, o: O, h: H, w: W, k: K, padding: P }, threads: 2, rounds, loadAverage: load, ceilingGflops: ceiling,
  ceilings, rows, torch: torchRow ?? 'not installed (python3 cannot import torch)',
});
if (!quick) {
  updateBenchmarksMd({
    name: 'conv',
    title: 'Conv2d forward + backward (U-Net layer)',
    intro:
      `x [${N}, ${C}, ${H}, ${W}], a ${K}x${K} kernel ${C} -> ${O}, padding ${P}; onnxruntime-node at 2 threads. One pass ` +
      `(forward, input gradient or weight gradient) is ${(PASS_FLOPS / 1e9).toFixed(2)} GFLOP. Large outputs are summed ` +
      `inside the graph (no 4 MB copy back to JS). Median over ${rounds} rounds; "of ceiling" is the row's rate over the ` +
      `median rate of an ORT MatMul 256x1024x1024 whose runs alternate with the row's (median of all ` +
      `${ceiling.toFixed(0)} GFLOP/s). ` +
      `Target: fwd+bwd >= 50%.`,
    columns: ['pass / lowering', 'ms (median)', 'GFLOP/s', 'of ceiling'],
    rows: [
      ...rows.map((r) => [r.name, r.ms, r.gflops, `${(100 * r.ofCeiling).toFixed(0)}%`]),
      ...(torchRow ? [[torchRow.name, torchRow.ms, torchRow.gflops, '']] : []),
    ],
    notes: [
      `The machine's 1-minute load average was ${load.map((l) => l.toFixed(1)).join(' before, ')} after, on 2 cores: ` +
        'other jobs shared the CPU, so compare rows by their fraction of the ceiling measured beside them.',
      ...(ceiling < 100
        ? [`The ceiling ran at ${ceiling.toFixed(0)} GFLOP/s, far below this machine's uncontended 150-250: a MatMul ` +
          'of ~2 ms loses more to other jobs than a conv of ~40 ms, so fractions above 100% are contention, not speed; ' +
          'the lowerings compare by their ms within this run, the target needs a quiet machine.']
        : []),
      'Shipped lowering (src/runtime/onnx/lower-conv.ts): forward ONNX Conv; input gradient a Conv with the flipped, ' +
        'transposed weight at stride 1 (ConvTranspose otherwise); weight gradient an explicit im2col (strided Slices) ' +
        '+ one batched MatMul summed over the batch.',
      torchRow
        ? 'PyTorch: torch.nn.Conv2d forward + backward, 2 threads.'
        : 'PyTorch was not measured: python3 cannot import torch on this machine.',
    ],
  });
}
log(rows.map((r) => `${r.name}: ${formatNumber(r.ms)} ms, ${(100 * r.ofCeiling).toFixed(0)}%`).join('\n'));
