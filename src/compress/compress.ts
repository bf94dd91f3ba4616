/**
 * `compress`: a trained run or an ONNX file in, a quantized ONNX file out, with the evidence of what it cost
 * (size, and how far its outputs moved on real inputs). The output keeps the inputs, outputs and metadata of
 * the float32 export, so `eval`, `compare`, `serve` and the registry take it like any other ONNX model.
 *
 * @module
 */
import { checkOutputs } from '../util/paths.ts';
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadTextCorpus } from '../data/text/corpus.ts';
import { decodeModel, encodeModel } from '../runtime/onnx/proto.ts';
import { assertInt8Runs, detectInt8Cpu, type Int8Cpu } from '../runtime/int8-cpu.ts';
import { runKind, runOnnx, writeOnnxExport } from '../train/export-run.ts';
import { featuresView } from '../train/tabular-onnx.ts';
import { SwitchyardError } from '../util/errors.ts';
import { type CheckOptions, checkQuantized, type QuantizeCheck } from './check.ts';
import { quantizeModel, type QuantizeMode, type QuantizeReport } from './quantize.ts';

/** Options for {@link compressModel}. */
export interface CompressOptions {
  /** A run directory written by `switchyard train` (exported first) or an `.onnx` file. */
  model: string;
  /** The `.onnx` file to write. */
  out: string;
  /** `'dynamic'` (default: int8 weights and int8 matmuls) or `'weights'` (int8 storage, float32 arithmetic). */
  mode?: QuantizeMode;
  /** Weights with fewer elements stay float32 (default 1024). */
  minElements?: number;
  /** Bits of the int8-matmul weights: 7 (default, exact on every CPU) or 8 (needs VNNI); see {@link quantizeModel}. */
  weightBits?: 7 | 8;
  /** What is known of the CPU the check runs on (default: this machine's); an 8-bit model is refused without VNNI. */
  cpu?: Int8Cpu;
  /**
   * Inputs of the check: a table (tabular models) or text files/folders (language models). Without it the
   * check runs seeded random inputs, which shows the numeric drift but not the effect on real data.
   */
  data?: string[];
  /** Most rows or tokens the check runs. */
  limit?: number;
  /** Gate: when the check's label (top-1 token) agreement is below this, nothing is written (E_GATE, exit code 3). */
  minAgreement?: number;
  /** ONNX Runtime intra-op threads of the check (default: all cores). */
  threads?: number;
  /** Progress of the check on stderr (default on; the CLI turns it off for --quiet and --json). */
  progress?: CheckOptions['progress'];
}

/**
 * Ranges of the numeric options of {@link compressModel}, each with the `switchyard compress` flag that sets it:
 * the CLI's flag spec spreads them in and {@link compressModel} checks them, so both give the same error.
 *
 * @example
 * const spec = { limit: { type: 'number', ...COMPRESS_RANGES.limit, help: 'most rows or tokens checked' } };
 */
export const COMPRESS_RANGES = {
  minElements: { flag: '--min-elements', min: 1, integer: true },
  limit: { flag: '--limit', min: 1, integer: true },
  minAgreement: { flag: '--min-agreement', min: 0, max: 1 },
  weightBits: { flag: '--weight-bits', min: 7, max: 8, integer: true },
  threads: COMMON_RANGES.threads,
} as const;

/** What {@link compressModel} wrote and measured. */
export interface CompressResult {
  out: string;
  bytesBefore: number;
  bytesAfter: number;
  report: QuantizeReport;
  check: QuantizeCheck;
}

async function floatModel(path: string): Promise<Uint8Array> {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new SwitchyardError('E_FILE_NOT_FOUND', `${path}: no such file or directory (--model)`, 'pass a run directory written by switchyard train, or an .onnx file');
  }
  if (!isDir) return new Uint8Array(await readFile(path));
  if ((await runKind(path)) === undefined) throw new SwitchyardError('E_MODEL_INPUT', `${path}: no readable config.json; not a run directory`, 'pass a run directory written by switchyard train, or an .onnx file');
  return (await runOnnx(path, { inputs: 'features' })).bytes;
}

async function checkText(paths: string[], limit: number): Promise<string> {
  // Bytes are at least tokens for every tokenizer here; 8 bytes per token leaves room for BPE merges.
  const corpus = await loadTextCorpus(paths, { maxBytes: Math.max(4096, limit * 8) });
  return corpus.documents.map((d) => d.text).join('\n');
}

/**
 * Quantizes a model to int8 ({@link quantizeModel}), checks it against the float32 model
 * ({@link checkQuantized}) and writes it atomically, unless `minAgreement` is given and not met.
 *
 * @example
 * const r = await compressModel({ model: 'runs/churn', out: 'churn.int8.onnx', data: ['test.csv'], minAgreement: 0.99 });
 * console.log(r.bytesBefore, '->', r.bytesAfter, r.check.agreement);
 */
export async function compressModel(o: CompressOptions): Promise<CompressResult> {
  checkOutputs([{ flag: '--out', path: o.out, kind: 'file' }], [{ flag: '--model', path: o.model }, ...(o.data ?? []).map((path) => ({ flag: '--data', path }))]);
  checkRanges(o, COMPRESS_RANGES);
  let bytes = await floatModel(o.model);
  let source;
  try {
    source = decodeModel(bytes);
  } catch (e) {
    throw new SwitchyardError('E_MODEL_INPUT', `${o.model}: not a readable ONNX model (${(e as SwitchyardError).message})`, 'pass an .onnx file, or a run directory written by switchyard train');
  }
  // A raw-column tabular export is checked (and quantized) in its features form: the check encodes rows itself.
  if (source.metadata?.['switchyard.inputs'] === 'raw') bytes = encodeModel((source = featuresView(source)));
  const { mode, minElements, weightBits } = o;
  const { model, report } = quantizeModel(source, { mode, minElements, weightBits });
  // An 8-bit model checked on a CPU without VNNI would be measured with saturated matmuls: neither an honest
  // check of the model (right on VNNI CPUs) nor usable here.
  assertInt8Runs(model.metadata, o.out, o.cpu ?? detectInt8Cpu());
  const out = encodeModel(model);
  const meta = source.metadata ?? {};
  const lm = meta['switchyard.kind'] === 'gpt-decode';
  const data = o.data?.length ? (lm ? { text: await checkText(o.data, o.limit ?? 1024) } : { table: o.data[0] }) : undefined;
  if (data?.table && o.data!.length > 1) throw new SwitchyardError('E_USAGE', `--data names ${o.data!.length} tables; the check of a tabular model reads one`, 'pass one CSV/TSV/JSONL/Parquet file');
  const check = await checkQuantized(bytes, out, meta, { data, limit: o.limit, threads: o.threads, progress: o.progress, source: o.model });
  if (o.minAgreement !== undefined) {
    if (check.agreement === undefined) throw new SwitchyardError('E_USAGE', '--min-agreement needs a classifier or a language model (this model has no class scores to agree on)', 'leave --min-agreement out and read the output differences (and the RMSE of both models for a regression export)');
    if (check.agreement < o.minAgreement) {
      throw new SwitchyardError('E_GATE', `the quantized model agrees with the float32 model on ${(check.agreement * 100).toFixed(2)}% of ${check.count} ${lm ? 'tokens' : 'rows'}, below --min-agreement ${o.minAgreement}; ${o.out} was not written`, o.mode === 'weights' ? 'keep the float32 model' : 'try --mode weights (float32 arithmetic, int8 storage)', 3);
    }
  }
  await writeOnnxExport(o.out, out);
  return { out: o.out, bytesBefore: bytes.length, bytesAfter: out.length, report, check };
}
