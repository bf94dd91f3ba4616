/**
 * Generation benchmark: time to first token for a 200-token prompt and decode tokens/s, before and after the
 * loaded-LM handle with batched prefill. "before" is the old per-request path (load the run and compile the
 * decode graph on every call, then one decode step per prompt token); "after" keeps one {@link LmSession}
 * (loaded and compiled once) and prefills the prompt in one ONNX Runtime call. The model is the `small`
 * preset with a 512-token context, random weights (speed does not depend on them), byte tokenizer.
 * usage: node bin/run-ts.js bench/lm-generate.ts [--quick]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteTokenizer } from '../src/data/text/tokenizer.ts';
import { GPT, GPT_PRESETS, type GptConfig } from '../src/models/gpt.ts';
import { saveCheckpoint } from '../src/train/checkpoint.ts';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../src/runtime/session.ts';
import { exportLm } from '../src/train/generate.ts';
import { type GenerateResult, loadLm, type LmSession } from '../src/train/lm-session.ts';
import { Rng } from '../src/util/rng.ts';
import { updateBenchmarksMd, writeBenchResult } from './report.ts';
import { median } from './stats.ts';

interface Row { name: string; ttftMs: number; decodeTokensPerSec: number; totalMs: number }

/**
 * Feeds of one decode step of `cfg`: token 65 at position `pos`, caches of seeded normal values (scale 0.5).
 *
 * @example
 * const feeds = decodeStepFeeds(GPT_PRESETS.small, 64, 3);
 */
export function decodeStepFeeds(cfg: GptConfig, pos: number, seed: number): Record<string, ort.Tensor> {
  const shape = [cfg.layers, 1, cfg.heads, cfg.context, cfg.dModel / cfg.heads];
  const rng = new Rng(seed);
  const cache = () => new ort.Tensor('float32', Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 0.5), shape);
  return { ids: new ort.Tensor('int64', BigInt64Array.of(65n), [1, 1]), pos: new ort.Tensor('int64', BigInt64Array.of(BigInt(pos)), [1]), cacheK: cache(), cacheV: cache() };
}

/**
 * The exported decode step at position 300, run with two fetch lists in interleaved blocks of 64 calls (one
 * generation's worth of decode steps): the whole updated
 * caches (what every step copied out of ONNX Runtime before 2026-11-29) or only the new token's rows (what
 * {@link LmSession.step} fetches now). Median ms per step of each.
 */
async function decodeFetchAb(dir: string, cfg: GptConfig, rounds: number): Promise<{ wholeCachesMs: number; newRowsMs: number }> {
  const s = await ort.InferenceSession.create((await exportLm(dir)).bytes, sessionOptions({}));
  const feeds = decodeStepFeeds(cfg, 300, 1);
  const lists = { whole: ['logits', 'presentK', 'presentV'], rows: ['logits', 'newK', 'newV'] };
  const ms: Record<keyof typeof lists, number[]> = { whole: [], rows: [] };
  for (let r = 0; r < rounds; r++) {
    for (const k of ['whole', 'rows'] as const) {
      const t0 = performance.now();
      for (let i = 0; i < 64; i++) await s.run(feeds, lists[k]);
      ms[k].push((performance.now() - t0) / 64);
    }
  }
  await s.release();
  return { wholeCachesMs: median(ms.whole), newRowsMs: median(ms.rows) };
}

/** Runs the generation benchmark; `quick` uses fewer repetitions and generated tokens. */
export async function runLmGenerateBench(quick: boolean): Promise<{ model: string; promptTokens: number; generatedTokens: number; repetitions: number; results: Row[]; fetchAb: { wholeCachesMs: number; newRowsMs: number } }> {
  const log = (s: string) => process.stderr.write(s + '\n');
  const cfg: GptConfig = { ...GPT_PRESETS.small, context: 512 };
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-gen-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ format: 'switchyard.run', version: 1, kind: 'gpt', gpt: cfg, tokenizer: new ByteTokenizer().toJSON() }));
    await saveCheckpoint(dir, new GPT(cfg).init(0), null, { updates: 0, microSteps: 0, epoch: 0, batchInEpoch: 0 });
    const prompt = 'The State of the Union is strong. '.repeat(7).slice(0, 200); // 200 byte tokens
    const reps = quick ? 2 : 5;
    const o = { maxTokens: quick ? 16 : 64, temperature: 0 };
    const row = (name: string, samples: { ttft: number; r: GenerateResult; total: number }[]): Row => {
      const decode = samples.map((s) => (s.r.tokens.length - 1) / ((s.total - s.ttft) / 1000));
      const out = { name, ttftMs: median(samples.map((s) => s.ttft)), decodeTokensPerSec: median(decode), totalMs: median(samples.map((s) => s.total)) };
      log(`${name}: time to first token ${out.ttftMs.toFixed(1)} ms, decode ${out.decodeTokensPerSec.toFixed(0)} tokens/s, ${out.totalMs.toFixed(0)} ms per request`);
      return out;
    };
    const before = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const lm = await loadLm(dir, { batchedPrefill: false });
      const loaded = performance.now() - t0;
      const r = await lm.generate(prompt, o);
      before.push({ ttft: loaded + r.firstTokenMs, r, total: performance.now() - t0 });
      await lm.close();
    }
    const measure = async (lm: LmSession) => {
      await lm.generate(prompt, o); // compiles the prompt's prefill bucket
      const samples = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        const r = await lm.generate(prompt, o);
        samples.push({ ttft: r.firstTokenMs, r, total: performance.now() - t0 });
      }
      await lm.close();
      return samples;
    };
    const results = [
      row('before: load per request, token-by-token prefill', before),
      row('loaded once, token-by-token prefill', await measure(await loadLm(dir, { batchedPrefill: false }))),
      row('after: loaded once, batched prefill', await measure(await loadLm(dir))),
    ];
    const fetchAb = await decodeFetchAb(dir, cfg, quick ? 3 : 9);
    log(`decode step at position 300: ${fetchAb.wholeCachesMs.toFixed(2)} ms fetching the whole caches, ${fetchAb.newRowsMs.toFixed(2)} ms fetching the new rows (${(fetchAb.wholeCachesMs / fetchAb.newRowsMs).toFixed(1)}x)`);
    return { model: `GPT small preset, context ${cfg.context}, byte tokenizer`, promptTokens: 200, generatedTokens: o.maxTokens, repetitions: reps, results, fetchAb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/lm-generate.ts')) {
  const quick = process.argv.includes('--quick');
  const payload = await runLmGenerateBench(quick);
  process.stderr.write(`wrote ${writeBenchResult(quick ? 'lm-generate-quick' : 'lm-generate', payload)}\n`);
  if (!quick) {
    updateBenchmarksMd({
      name: 'lm-generate',
      title: 'Language-model generation latency',
      intro: `${payload.model}; a ${payload.promptTokens}-token prompt, ${payload.generatedTokens} generated tokens, median of ${payload.repetitions} requests. Before: every request loads the run and prefills the prompt token by token. After: \`loadLm\` keeps the weights and compiled graphs, and the prompt is prefilled in one ONNX Runtime call.`,
      columns: ['path', 'time to first token (ms)', 'decode tokens/s', 'ms per request'],
      rows: payload.results.map((r) => [r.name, r.ttftMs, r.decodeTokensPerSec, r.totalMs]),
      notes: [
        `Every decode step fetches only the logits and the new token's keys/values and writes them into the session's own cache. The same exported decode step at position 300, in interleaved blocks of 64 calls in this run: ${payload.fetchAb.wholeCachesMs.toFixed(2)} ms per step fetching the two whole updated caches (as every step did before 2026-11-29), ${payload.fetchAb.newRowsMs.toFixed(2)} ms fetching the new rows (${(payload.fetchAb.wholeCachesMs / payload.fetchAb.newRowsMs).toFixed(1)}x).`,
      ],
    });
  }
}
