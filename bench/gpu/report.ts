/**
 * Turns one run of bench/gpu/run.sh (its `gpu.jsonl` and `machine.txt`, from the device tool's files) into
 * bench/results/gpu.json and the "GPU training" section of BENCHMARKS.md. Only what the run measured is written;
 * failed or skipped steps are listed as such.
 *
 *   node bin/run-ts.js bench/gpu/report.ts <folder with gpu.jsonl and machine.txt>
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_LM_CONFIGS, type LmConfigName, lmStepFlops, totalParams } from '../lm-config.ts';
import { formatNumber, updateBenchmarksMd, writeBenchResult } from '../report.ts';

/**
 * fp32 (non-tensor-core) peaks from NVIDIA's data sheets, TFLOP/s, by a pattern of the card's name: what MFU is
 * measured against (WGSL has no tensor-core path that Switchyard uses yet).
 */
const FP32_PEAKS: [RegExp, number, string][] = [
  [/H200/i, 66.9, 'H200 SXM fp32 67 TFLOP/s'],
  [/H100.*PCIe/i, 51.2, 'H100 PCIe fp32 51 TFLOP/s'],
  [/H100/i, 66.9, 'H100 SXM fp32 67 TFLOP/s'],
];

interface Line {
  kind?: string;
  name?: string;
  config?: LmConfigName;
  tflops?: number;
  msPerStep?: number;
  msPerCall?: number;
  tokensPerSec?: number;
  gflops?: number;
  lossFirst?: number;
  lossLast?: number;
  failed?: string;
  skipped?: string;
  rc?: number;
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: bench/gpu/report.ts <folder with gpu.jsonl and machine.txt>');
const machine = readFileSync(join(dir, 'machine.txt'), 'utf8');
const lines = readFileSync(join(dir, 'gpu.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
const card = machine.split('\n').find((l) => /H100|H200|NVIDIA/i.test(l) && l.includes(',')) ?? 'unknown card';
const peak = FP32_PEAKS.find(([re]) => re.test(card));
if (!peak) throw new Error(`no fp32 peak known for '${card}': add it to FP32_PEAKS`);
const [, peakTflops, peakName] = peak;
const pct = (tflops: number) => `${((tflops / peakTflops) * 100).toFixed(0)}%`;

const rows: (string | number)[][] = [];
for (const l of lines.filter((x) => x.kind === 'matmul')) {
  rows.push([l.name ?? 'switchyard webgpu', 'matmul 4096^3', '', formatNumber(l.msPerCall!), formatNumber(l.tflops! * 1000), pct(l.tflops!), '']);
}
for (const name of Object.keys(ALL_LM_CONFIGS) as LmConfigName[]) {
  for (const l of lines.filter((x) => x.kind !== 'matmul' && x.config === name && x.msPerStep !== undefined)) {
    // PyTorch's script reports time only: the one FLOP formula gives every peer's rate.
    const gflops = l.gflops ?? lmStepFlops(ALL_LM_CONFIGS[name]) / l.msPerStep! / 1e6;
    rows.push([l.name!, name, formatNumber(totalParams(ALL_LM_CONFIGS[name])), formatNumber(l.msPerStep!),
      formatNumber(gflops), pct(gflops / 1000), `${formatNumber(l.tokensPerSec!)} (loss ${l.lossFirst?.toFixed(2)} -> ${l.lossLast?.toFixed(2)})`]);
  }
}
const missing = lines.filter((l) => l.failed || l.skipped).map((l) => (l.failed ? `failed (exit ${l.rc}): \`${l.failed}\`` : `skipped (time budget spent): \`${l.skipped}\``));
writeBenchResult('gpu', { card, machine, fp32PeakTflops: peakTflops, lines });
updateBenchmarksMd({
  title: 'GPU training (WebGPU) against PyTorch CUDA and jax-js',
  name: 'gpu-training',
  intro: `bench/gpu/run.sh on one ${card}: fp32 matmul and the GPT training step (forward + backward + AdamW) of bench/lm-config.ts — the two CPU bench configs and a larger GPT (d_model 768, 12 layers, 12 heads, context 512, batch 8; MoE 8 experts top-2) — by Switchyard on WebGPU (Dawn, Vulkan), PyTorch eager on CUDA (fp32, TF32 off) and jax-js on WebGPU through the same Dawn, in the same call. GFLOP/s use the FLOP formula of bench/lm-config.ts; MFU is against the ${peakName} peak.`,
  columns: ['implementation', 'config / kernel', 'params', 'ms/step (or per call)', 'GFLOP/s', 'MFU (fp32 peak)', 'tokens/s'],
  rows,
  notes: missing.length ? missing : undefined,
  measuredOn: machine.split('\n').filter(Boolean).join('; '),
});
console.log(`wrote bench/results/gpu.json and the gpu-training section of BENCHMARKS.md (${rows.length} rows, ${missing.length} missing)`);
