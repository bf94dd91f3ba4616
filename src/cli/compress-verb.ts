import { COMPRESS_RANGES, compressModel, type CompressResult } from '../compress/compress.ts';
import { SwitchyardError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs.ts';
import { checkOutputs } from '../util/paths.ts';
import { COMMON_FLAGS, formatHelp, parseArgs, THREADS_FLAG } from './args.ts';
import { corpusPaths } from './lm-verbs.ts';
import { emitJson } from './output.ts';

export const COMPRESS_SPEC = {
  ...COMMON_FLAGS,
  model: { type: 'string', required: true, help: 'run directory written by switchyard train, or an .onnx file' },
  out: { type: 'string', required: true, valueName: 'file', help: 'quantized .onnx file to write' },
  mode: { type: 'string', default: 'dynamic', help: 'dynamic (int8 weights and int8 matmuls) | weights (int8 storage, float32 arithmetic)' },
  'min-elements': { type: 'number', ...COMPRESS_RANGES.minElements, default: 1024, help: 'weights with fewer elements stay float32' },
  'weight-bits': {
    type: 'number',
    ...COMPRESS_RANGES.weightBits,
    help: 'bits of the int8-matmul weights (dynamic mode): 7 (default, exact on every CPU) or 8 (half the rounding '
      + 'error; needs a CPU with VNNI, recorded in the model and checked at load)',
  },
  data: { type: 'list', help: 'check inputs: a table (tabular models) or text files/folders or "sotu" (language models)' },
  limit: { type: 'number', ...COMPRESS_RANGES.limit, help: 'most rows (default 2000) or tokens (default 1024) the check runs' },
  'min-agreement': { type: 'number', ...COMPRESS_RANGES.minAgreement, help: 'gate: do not write the model (exit 3) when labels / top-1 tokens agree on fewer than this share' },
  report: { type: 'string', valueName: 'file', help: 'also write the result as JSON here (format switchyard.compress), for registry register --compress' },
  threads: THREADS_FLAG,
} as const;

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const g = (v: number) => (Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(4) : v.toExponential(2));

/** What the int8 matmuls need of the CPU (dynamic mode). */
function matmulBits(q: CompressResult['report']): string {
  if (q.mode !== 'dynamic') return '';
  return `, ${q.matmulWeightBits}-bit matmul weights, ${q.needsVnni ? 'needs a CPU with VNNI' : 'exact on every CPU'}`;
}

function summary(r: CompressResult): string {
  const c = r.check;
  const q = r.report;
  const ratio = (r.bytesBefore / r.bytesAfter).toFixed(2);
  const lines = [
    `wrote ${r.out}: ${kib(r.bytesBefore)} -> ${kib(r.bytesAfter)} (${ratio}x smaller), `
      + `${q.quantized.length} weights int8 (${q.mode}${matmulBits(q)}), ${q.kept.length} kept float32`,
    `check on ${c.count} ${c.inputs === 'text' ? 'tokens of text' : c.inputs === 'data' ? 'rows of data' : `random ${c.loss ? 'tokens' : 'rows'} (pass --data for real inputs)`}:`,
  ];
  for (const [name, d] of Object.entries(c.outputs)) lines.push(`  ${name}: max |diff| ${g(d.maxAbsDiff)}, mean |diff| ${g(d.meanAbsDiff)}`);
  if (c.agreement !== undefined) lines.push(`  ${c.loss ? 'top-1 next token' : 'label'} agreement ${(c.agreement * 100).toFixed(2)}%`);
  if (c.accuracy) lines.push(`  accuracy float32 ${g(c.accuracy.float32)}, int8 ${g(c.accuracy.quantized)}`);
  if (c.rmse) lines.push(`  RMSE float32 ${g(c.rmse.float32)}, int8 ${g(c.rmse.quantized)}`);
  if (c.loss) lines.push(`  loss (nats/token) float32 ${g(c.loss.float32)}, int8 ${g(c.loss.quantized)}`);
  return lines.join('\n') + '\n';
}

/**
 * `switchyard compress`: quantize a trained model to int8 ONNX and check it against the float32 model.
 *
 * @example
 * await compressVerb(['--model', 'runs/churn', '--out', 'churn.int8.onnx', '--data', 'test.csv', '--min-agreement', '0.99']);
 */
export async function compressVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, COMPRESS_SPEC, 'compress');
  if (a.help) return void process.stdout.write(formatHelp('compress', 'Quantize a trained model to int8 ONNX (about 4x smaller; int8 matmuls in dynamic mode) and check it against the float32 model.', COMPRESS_SPEC)), 0;
  if (a.mode !== 'dynamic' && a.mode !== 'weights') throw new SwitchyardError('E_USAGE', `--mode ${a.mode} is not dynamic or weights`, 'e.g. --mode dynamic');
  checkOutputs([{ flag: '--report', path: a.report, kind: 'file' }], [{ flag: '--model', path: a.model }, { flag: '--out', path: a.out }]);
  const r = await compressModel({
    model: a.model, out: a.out, mode: a.mode, minElements: a['min-elements'],
    weightBits: a['weight-bits'] as 7 | 8 | undefined, data: a.data?.length ? corpusPaths(a.data) : undefined,
    limit: a.limit, minAgreement: a['min-agreement'], threads: a.threads, progress: { enabled: !a.quiet && !a.json },
  });
  const result = { out: r.out, bytesBefore: r.bytesBefore, bytesAfter: r.bytesAfter, quantization: r.report, check: r.check };
  if (a.report) await writeJsonAtomic(a.report, { format: 'switchyard.compress', version: 1, created: new Date().toISOString(), model: a.model, ...result });
  if (a.json) emitJson({ ok: true, ...result, report: a.report ?? null });
  else process.stdout.write(summary(r));
  return 0;
}
