/**
 * The ONNX export of a run directory, whichever kind of model it holds: a tabular model's inference graph or a
 * language model's KV-cached decode step. One place for `switchyard export` and `switchyard compress`.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RUN_FILES } from './checkpoint.ts';
import { exportLm } from './generate.ts';
import { tabularOnnx } from './tabular-predict.ts';

/** Inputs and outputs of a language model's exported decode step. */
const LM_IO = { inputs: ['ids', 'pos', 'cacheK', 'cacheV'], outputs: ['logits', 'presentK', 'presentV', 'newK', 'newV', 'allLogits'] };

/**
 * The `kind` a run directory's config.json records (`gpt`, `tabular-mlp`), or undefined when it has no
 * readable config.json.
 *
 * @example
 * await runKind('runs/lm'); // 'gpt'
 */
export async function runKind(dir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(dir, RUN_FILES.config), 'utf8')) as { kind?: string }).kind;
  } catch {
    return undefined;
  }
}

/**
 * The ONNX bytes of a run directory's deployable graph, with its input and output names.
 *
 * @example
 * const { bytes, inputs, outputs } = await runOnnx('runs/lm'); // inputs ids, pos, cacheK, cacheV
 */
export async function runOnnx(dir: string): Promise<{ bytes: Uint8Array; inputs: string[]; outputs: string[] }> {
  if ((await runKind(dir)) === 'gpt') return { bytes: (await exportLm(dir)).bytes, ...LM_IO };
  return tabularOnnx(dir);
}
