import { exportOnnx } from './forward.ts';
import { decodeGraph, type GenerateResult, loadLm, type LoadLmOptions, loadLmRun, type SampleOptions } from './lm-session.ts';

export { decodeGraph, type GenerateResult, loadLm, type LoadLmOptions, loadLmRun, LmSession, type LmState, type SampleOptions, sampleToken } from './lm-session.ts';

/**
 * Generates text after `prompt` with a run directory or an exported decode step: loads it ({@link loadLm}),
 * generates once (the prompt in one decode call, then one KV-cached decode step per token; the window slides
 * when the context fills up)
 * and releases it. To generate more than once, keep a {@link LmSession} instead.
 *
 * @example
 * const { text } = await generate('runs/lm', 'The economy', { maxTokens: 100, temperature: 0.8, topK: 40, seed: 1, onText: (s) => process.stdout.write(s) });
 */
export async function generate(runDir: string, prompt: string, o: SampleOptions, opts: LoadLmOptions = {}): Promise<GenerateResult> {
  const lm = await loadLm(runDir, opts);
  try {
    return await lm.generate(prompt, o);
  } finally {
    await lm.close();
  }
}

/**
 * Exports a language model's KV-cached decode step as ONNX: inputs `ids` [1, T] (T new tokens at positions
 * `pos`, `pos` + 1, ...: a whole prompt, or one generated token; T is 1 for capacity-dispatch MoE), `pos` [1],
 * `cacheK`, `cacheV` [layers, 1, heads, context, headDim]; outputs `logits` [1, vocab] after the last new token,
 * the updated caches `presentK`, `presentV`, the new tokens' rows `newK`, `newV` [layers, 1, heads, T, headDim], and
 * the logits after every new token `allLogits` [1, T, vocab].
 * Dense and MoE models alike (MoE dispatch uses NonZero/Gather/ScatterND). `opts.opset` picks the target
 * opset (17..21, default 18; 17 is what onnx 1.12-era tools read).
 *
 * @example
 * const { bytes } = await exportLm('runs/lm', { opset: 17 });
 */
export async function exportLm(runDir: string, opts: { opset?: number } = {}): Promise<{ bytes: Uint8Array; meta: Record<string, string> }> {
  const { model, cfg } = await loadLmRun(runDir);
  const meta = { 'switchyard.kind': 'gpt-decode', 'switchyard.gpt': JSON.stringify(cfg.gpt), 'switchyard.tokenizer': JSON.stringify(cfg.tokenizer) };
  const { fn, spec } = decodeGraph(model);
  return { bytes: exportOnnx(model, fn, spec, meta, opts), meta };
}
