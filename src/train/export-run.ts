/**
 * The ONNX export of a run directory, whichever kind of model it holds: a tabular model's inference graph or a
 * language model's KV-cached decode step. One place for `switchyard export` and `switchyard compress`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { saveHuggingFaceTokenizer } from '../data/text/hf-tokenizer.ts';
import { gptToHfGpt2, hfGpt2Config } from '../models/hf-gpt2.ts';
import { saveSafetensors } from '../runtime/safetensors.ts';
import { SwitchyardError } from '../util/errors.ts';
import {
  addToManifest, commitDirAtomic, MANIFEST_NAME, tempDirFor, writeFileAtomic, writeJsonAtomic,
} from '../util/fs.ts';
import { exportSamplingLoop } from './diffusion-onnx.ts';
import { exportLm } from './generate.ts';
import { loadLmRun } from './lm-session.ts';
import { RUN_FILES } from './run-dir.ts';
import { tabularOnnx, type TabularOnnxOptions } from './tabular-predict.ts';
import { textClassifierOnnx } from './text-classifier-run.ts';

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
 * The ONNX bytes of a run directory's deployable graph (a tabular model's, a text classifier's, a language model's
 * decode step, or a diffusion run's whole sampling loop: {@link exportSamplingLoop}, `sampleSteps` steps), with
 * its input and output names. `opts` pick a tabular model's inputs (raw columns or encoded features) and the
 * target opset of any kind.
 *
 * @example
 * const { bytes, inputs, outputs } = await runOnnx('runs/lm'); // inputs ids, pos, cacheK, cacheV
 */
export async function runOnnx(
  dir: string, opts: TabularOnnxOptions & { sampleSteps?: number } = {},
): Promise<{ bytes: Uint8Array; inputs: string[]; outputs: string[] }> {
  const kind = await runKind(dir);
  if (kind === 'unet') {
    if (opts.inputs !== undefined) {
      throw new SwitchyardError('E_USAGE', `${dir}: --inputs is for tabular models`, 'leave --inputs out');
    }
    const r = await exportSamplingLoop(dir, { steps: opts.sampleSteps, opset: opts.opset });
    return { bytes: r.bytes, inputs: r.inputs, outputs: ['images'] };
  }
  if (opts.sampleSteps !== undefined) {
    throw new SwitchyardError('E_USAGE', `${dir}: --sample-steps is for diffusion runs`, 'leave --sample-steps out');
  }
  if (kind === 'text-classifier') {
    if (opts.inputs !== undefined) throw new SwitchyardError('E_USAGE', `${dir}: --inputs is for tabular models`, 'a text classifier takes token ids and a text mask; leave --inputs out');
    return textClassifierOnnx(dir, { opset: opts.opset });
  }
  if (kind === 'gpt') {
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

/** The files of a Hugging Face GPT-2 folder that {@link exportHfGpt2} writes (and may replace). */
const HF_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

/**
 * Writes a GPT run as a Hugging Face GPT-2 folder: `model.safetensors` (GPT2LMHeadModel names,
 * `transformer.h.N.attn.c_attn.weight` with Conv1D [in, out] weights; `lm_head.weight` only when untied),
 * `config.json` (GPT2Config), the run's tokenizer as `tokenizer.json` (byte-level BPE) and a `tokenizer_config.json`
 * naming Transformers' generic fast tokenizer for it. The run is verified first; a config GPT-2 cannot express
 * (rotary, RMSNorm, MoE) is `E_HF_GPT2`. The folder is built aside and renamed in; an existing `out` is replaced
 * only when it holds nothing but those files.
 *
 * @example
 * await exportHfGpt2('runs/lm', 'exports/lm-hf'); // { tensors: 30, files: [...] }
 */
export async function exportHfGpt2(runDir: string, out: string): Promise<{ tensors: number; files: string[] }> {
  const { cfg, model, tok } = await loadLmRun(runDir);
  const hf = gptToHfGpt2(model.stateDict(), cfg.gpt);
  const config = hfGpt2Config(cfg.gpt);
  const present = existsSync(out) ? await readdir(out).catch(() => null) : [];
  if (present === null || present.some((f) => !HF_FILES.includes(f))) {
    const what = `${out}: --out exists and holds other files than ${HF_FILES.join(', ')}`;
    throw new SwitchyardError('E_OUTPUT', what, 'pick a new or empty --out directory');
  }
  const tensors = new Map([...hf].map(([n, t]) => [n === 'lm_head.weight' ? n : `transformer.${n}`, t]));
  // AutoTokenizer would otherwise pick GPT2TokenizerFast (from model_type), which adds GPT-2's <|endoftext|> to
  // a vocabulary that may lack it; the generic fast tokenizer reads tokenizer.json as it is. Our decode does not
  // clean up spaces, so neither does theirs.
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: cfg.gpt.context, clean_up_tokenization_spaces: false,
  };
  const tmp = tempDirFor(out);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await saveSafetensors(join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
  await writeJsonAtomic(join(tmp, 'config.json'), config);
  await saveHuggingFaceTokenizer(join(tmp, 'tokenizer.json'), tok);
  await writeJsonAtomic(join(tmp, 'tokenizer_config.json'), tokenizerConfig);
  await commitDirAtomic(tmp, out);
  return { tensors: tensors.size, files: HF_FILES.map((f) => join(out, f)) };
}
