/**
 * The ONNX export of a run directory, whichever kind of model it holds: a tabular model's inference graph or a
 * language model's KV-cached decode step. One place for `switchyard export` and `switchyard compress`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { addToManifest, MANIFEST_NAME, writeFileAtomic } from '../util/fs.ts';
import { exportLm } from './generate.ts';
import { RUN_FILES } from './run-dir.ts';
import { tabularOnnx, type TabularOnnxOptions } from './tabular-predict.ts';
import { SwitchyardError } from '../util/errors.ts';

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
 * The ONNX bytes of a run directory's deployable graph, with its input and output names. `opts` pick a tabular
 * model's inputs (raw columns or encoded features) and the target opset of either kind.
 *
 * @example
 * const { bytes, inputs, outputs } = await runOnnx('runs/lm'); // inputs ids, pos, cacheK, cacheV
 */
export async function runOnnx(dir: string, opts: TabularOnnxOptions = {}): Promise<{ bytes: Uint8Array; inputs: string[]; outputs: string[] }> {
  if ((await runKind(dir)) === 'gpt') {
    if (opts.inputs === 'raw') throw new SwitchyardError('E_USAGE', `${dir}: --inputs raw is for tabular models`, 'a language model\'s decode step takes token ids; leave --inputs out');
    return { bytes: (await exportLm(dir, { opset: opts.opset })).bytes, ...LM_IO };
  }
  return tabularOnnx(dir, opts);
}

/**
 * Writes an ONNX export atomically. When it lands at the top of a run directory (`--out RUN/model.onnx`, the
 * way to register a run with its ONNX graph), the run's manifest gains its entry, so the run stays verifiable
 * and loaders that refuse unlisted model files still open it.
 *
 * @example
 * await writeOnnxExport('runs/x/model.onnx', (await runOnnx('runs/x')).bytes);
 */
export async function writeOnnxExport(file: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(file, bytes);
  const dir = dirname(file);
  const intoRun = /\.onnx$/i.test(file) && existsSync(join(dir, RUN_FILES.config)) && existsSync(join(dir, MANIFEST_NAME));
  if (intoRun) await addToManifest(dir, [basename(file)]);
}
