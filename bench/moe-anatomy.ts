/**
 * Where the MoE step's extra time goes (issue 3's "MoE at least 0.8x dense tokens/s"). Two measurements, each in
 * its own child process with the variants alternating call by call, so the shared machine's drift cancels:
 *
 * 1. Step variants with the same active parameters as the dense benchmark model, from dense to the benchmark
 *    MoE one change at a time: the MoE machinery with one expert (router, dispatch, aux loss, telemetry); two
 *    experts (twice the MLP parameters for AdamW); the benchmark's 8 experts of hidden 512 with top-2 (eight
 *    smaller matmuls per layer and 2.9x the parameters); the last two again with SGD instead of AdamW.
 * 2. The expert matmuls alone: one 2048-row matmul against eight 512-row ones (as dropless dispatch runs them)
 *    and one batched matmul over eight equal blocks (what a padded dispatch would run), forward and weight
 *    gradient shapes.
 *
 *   node bin/run-ts.js bench/moe-anatomy.ts [--quick]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { add, matmul, mul, reduceSum, split, transpose, type Tensor, trace } from '../src/core/index.ts';
import { CompiledGraph } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';
import { runJsonChild } from './child.ts';
import { LM_CONFIGS } from './lm-config.ts';
import { formatNumber, REPO_ROOT, updateBenchmarksMd, writeBenchResult } from './report.ts';
import { median } from './stats.ts';
import { prepareLmStep } from './lm-step.ts';

interface Variant {
  name: string;
  moe?: { experts: number; topK: number; hidden: number };
  optimizer: 'adamw' | 'sgd';
}

const VARIANTS: Variant[] = [
  { name: 'dense (MLP hidden 1024)', optimizer: 'adamw' },
  { name: 'MoE, 1 expert of 1024, top-1', moe: { experts: 1, topK: 1, hidden: 1024 }, optimizer: 'adamw' },
  { name: 'MoE, 2 experts of 1024, top-1', moe: { experts: 2, topK: 1, hidden: 1024 }, optimizer: 'adamw' },
  { name: 'MoE, 8 experts of 512, top-2 (benchmark)', moe: { experts: 8, topK: 2, hidden: 512 }, optimizer: 'adamw' },
  { name: 'dense, SGD', optimizer: 'sgd' },
  { name: 'MoE 8 x 512 top-2, SGD', moe: { experts: 8, topK: 2, hidden: 512 }, optimizer: 'sgd' },
];

interface Timing {
  name: string;
  ms: number;
}

/** Median ms per step of every variant, calls alternating, `rounds` calls each. */
async function stepVariants(rounds: number, stepsPerCall: number): Promise<Timing[]> {
  const runs: (() => Promise<number>)[] = [];
  for (const v of VARIANTS) {
    const moe = v.moe ? { ...v.moe, auxLoss: LM_CONFIGS.moe.auxLossCoef, dispatch: 'dropless' as const } : null;
    const { run } = await prepareLmStep(LM_CONFIGS.dense, stepsPerCall, { moe, optimizer: v.optimizer });
    runs.push(async () => {
      const t = performance.now();
      await run();
      return (performance.now() - t) / stepsPerCall;
    });
  }
  for (const r of runs) await r();
  const samples = runs.map(() => [] as number[]);
  for (let i = 0; i < rounds; i++) for (let j = 0; j < runs.length; j++) samples[j].push(await runs[j]());
  return VARIANTS.map((v, j) => ({ name: v.name, ms: median(samples[j]) }));
}

interface MatmulCase {
  name: string;
  shapes: Record<string, number[]>;
  f: (t: Record<string, Tensor>) => Tensor;
}

const eight = (t: Tensor) => split(t, 0, Array(8).fill(1));
const MATMULS: MatmulCase[] = [
  { name: 'forward, one 2048x256 @ 256x1024', shapes: { x: [2048, 256], w: [256, 1024] }, f: (t) => reduceSum(matmul(t.x, t.w)) },
  { name: 'forward, 8 x (512x256 @ 256x512)', shapes: { x: [8, 512, 256], w: [8, 256, 512] }, f: (t) => eight(t.x).map((x, e) => reduceSum(matmul(x, eight(t.w)[e]))).reduce((a, b) => add(a, b)) },
  { name: 'forward, batched [8] 512x256 @ 256x512', shapes: { x: [8, 512, 256], w: [8, 256, 512] }, f: (t) => reduceSum(matmul(t.x, t.w)) },
  { name: 'weight gradient, one 1024x2048 @ 2048x256 (A transposed)', shapes: { x: [2048, 1024], w: [2048, 256] }, f: (t) => reduceSum(matmul(transpose(t.x), t.w)) },
  { name: 'weight gradient, 8 x (512x512 @ 512x256) (A transposed)', shapes: { x: [8, 512, 512], w: [8, 512, 256] }, f: (t) => eight(t.x).map((x, e) => reduceSum(matmul(transpose(x, [0, 2, 1]), eight(t.w)[e]))).reduce((a, b) => add(a, b)) },
];

/** GFLOP/s of each matmul case (all cases do 2 x 2048 x 256 x 1024 FLOPs), repeated `reps` times per run. */
async function matmulCases(rounds: number): Promise<Timing[]> {
  const reps = 10;
  const compiled: { run: () => Promise<number> }[] = [];
  for (const c of MATMULS) {
    const g = trace((g) => {
      const ins = Object.fromEntries(Object.entries(c.shapes).map(([k, s]) => [k, g.input(k, 'f32', s)]));
      let acc: Tensor | null = null;
      // Each repetition scales x by a different constant so ORT cannot merge them.
      for (let i = 0; i < reps; i++) acc = add(acc ?? 0, c.f({ ...ins, x: mul(ins.x, 1 + i * 1e-6) }));
      return { y: acc! };
    });
    const session = await CompiledGraph.create(g, { threads: 2 });
    const rng = new Rng(7);
    const feeds = Object.fromEntries(Object.entries(c.shapes).map(([k, s]) => [k, { dtype: 'f32' as const, shape: s, data: Float32Array.from({ length: s.reduce((a, b) => a * b) }, () => rng.normal()) }]));
    compiled.push({
      run: async () => {
        const t = performance.now();
        await session.run(feeds);
        return (performance.now() - t) / reps;
      },
    });
  }
  for (const c of compiled) await c.run();
  const samples = compiled.map(() => [] as number[]);
  for (let i = 0; i < rounds; i++) for (let j = 0; j < compiled.length; j++) samples[j].push(await compiled[j].run());
  return MATMULS.map((c, j) => ({ name: c.name, ms: median(samples[j]) }));
}

/** Runs both measurements in child processes and updates BENCHMARKS.md. */
export async function runMoeAnatomyBench(quick: boolean, log: (s: string) => void): Promise<void> {
  const child = async (what: string) => (await runJsonChild<{ timings: Timing[] }>(`moe-anatomy (${what})`, process.execPath, [join(REPO_ROOT, 'bin/run-ts.js'), join(REPO_ROOT, 'bench/moe-anatomy.ts'), '--child', what, ...(quick ? ['--quick'] : [])])).timings;
  const steps = await child('steps');
  const mms = await child('matmuls');
  for (const s of [...steps, ...mms]) log(`${s.name}: ${s.ms.toFixed(2)} ms`);
  writeBenchResult('moe-anatomy', { steps, matmuls: mms });
  const dense = steps[0].ms;
  const denseSgd = steps[4].ms;
  const flops = 2 * 2048 * 256 * 1024;
  updateBenchmarksMd({
    title: 'Where the MoE step loses time',
    name: 'moe-anatomy',
    intro: 'The LM benchmark step (d_model 256, 4 layers, batch 16 x 128) with the same active parameters per token, from dense to the benchmark MoE one change at a time; every variant compiled in one process and called in turn (8 steps per call), median per variant. Then the expert matmuls alone: one large matmul, eight quarter-size ones as dropless dispatch runs them, and one batched matmul over eight equal blocks; every case does the same FLOPs.',
    columns: ['step variant', 'ms/step', 'tokens/s relative to dense (same optimizer)'],
    rows: steps.map((s, i) => [s.name, formatNumber(s.ms), ((i >= 4 ? denseSgd : dense) / s.ms).toFixed(2)]),
    notes: mms.map((m) => `${m.name}: ${formatNumber(m.ms)} ms, ${formatNumber(flops / m.ms / 1e6)} GFLOP/s`),
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const what = process.argv.includes('--child') ? process.argv[process.argv.indexOf('--child') + 1] : null;
  if (what === 'steps') console.log(JSON.stringify({ timings: await stepVariants(quick ? 2 : 8, 8) }));
  else if (what === 'matmuls') console.log(JSON.stringify({ timings: await matmulCases(quick ? 3 : 8) }));
  else await runMoeAnatomyBench(quick, (s) => process.stderr.write(s + '\n'));
}
