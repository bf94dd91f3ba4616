/**
 * WGSL kernels of the ops with run-time row counts: `splitRows`, `concatRows` and `nonzero` (MoE dispatch).
 *
 * Design: no CPU sync inside a run. A value whose dim is a run-time count (`?rows3`, `?nz1`) gets a buffer
 * sized for its upper bound (a piece of `splitRows(x)` never has more rows than `x`; `nonzero(mask)` never more
 * entries than `mask`), and the kernels see that upper bound as the dim. The true count is one i32 word (typed
 * 'i64' below, which `wgslType` stores as i32) of a small GPU buffer per executable, the row-count buffer: word 0
 * is a status word, then one word per run-time dim, written by the op that makes the dim and read by the kernels
 * that need it. Everything past the count (the padding) is kept at zero: the producers here write zeros there,
 * and the executor zeroes the padding of every other value with a run-time dim right after its kernel
 * (`paddingStep`). With zero padding every kernel that sums over a run-time dim (matmul contracting it,
 * reduceSum, scatter-adds, cumsum) is exact without knowing the count, and row-wise kernels only compute rows
 * nobody reads. The ops that count or compare along such a dim (mean, max, softmax, argmax, topk, layerNorm,
 * numel) would be wrong, as would a reshape moving the counted rows off the leading dim: the executor rejects
 * those graphs before running (`checkRowAxes` in row-counts.ts). A fetched output reads its true shape back
 * with the row-count buffer at the end of the run, cut on the host.
 *
 * Sizes that do not fit (negative, or adding up past the rows) cannot throw on the GPU: the pieces are clamped to
 * fit and the node writes its code into the status word, which the executor reads back and turns into `E_SHAPE`
 * after the run, as the reference interpreter would have thrown. The price of the upper bound is work: each
 * expert of a dropless MoE runs its kernels over all N*k rows (mostly zero padding). Kernels that read the
 * count (or an indirect dispatch sized from it) can skip the padding later without changing this contract.
 */
import type { Dim } from '../../../core/shape.ts';
import { numel } from '../../reference/tensor.ts';
import type { GpuKernel, GpuKernelContext, GpuValue, RowCountContext, Step, StepsPlan } from './wgsl.ts';
import { shader, u } from './wgsl.ts';

function rowsOf(ctx: GpuKernelContext): RowCountContext {
  if (!ctx.rows) throw new Error(`${ctx.where}: the executor gave no row-count buffer`);
  return ctx.rows;
}

/** A WGSL u32 expression: the row count of dim `d` (its word of `counts`, at most `upper`) or its static size. */
function countOf(d: Dim, upper: number, rows: RowCountContext, counts: string): string {
  const w = rows.word(d);
  return w === undefined ? u(upper) : `min(u32(max(${counts}[${w}], 0i)), ${u(upper)})`;
}

/** WGSL: on a failed check `bad`, the node's code goes into the status word (the first failure wins). */
function flag(rows: RowCountContext, status: string): string {
  return `  if (bad && ${status}[0] == 0i) { ${status}[0] = ${rows.failCode}i; }`;
}

/** WGSL helper `sy_piece(e) -> vec2u(first row, rows)` of a split of `rows` rows by the i32 sizes in `sizes`. */
function pieceHelper(rows: number, sizes: string): string {
  return `fn sy_piece(e: u32) -> vec2u {
  var start = 0u;
  for (var j = 0u; j < e; j++) { start = start + min(u32(max(${sizes}[j], 0i)), ${u(rows)} - start); }
  return vec2u(start, min(u32(max(${sizes}[e], 0i)), ${u(rows)} - start));
}`;
}

const splitRows: GpuKernel = ([x, sizes], attrs, ctx) => {
  const rows = rowsOf(ctx);
  const dims = attrs.dims as Dim[];
  const inner = numel(x.shape.slice(1));
  const n = x.shape[0];
  const uppers = dims.map((d) => (rows.word(d) === undefined ? ctx.dim(d)! : n));
  // One invocation checks the sizes as the reference does and writes each run-time piece's (clamped) count.
  const lines = dims.map((d, e) => {
    const w = rows.word(d);
    const store = w === undefined ? `if (cnt != ${u(uppers[e])}) { bad = true; }` : `out0[${w}] = i32(cnt);`;
    return `  { let s = in0[${e}]; if (s < 0i || u32(s) > ${u(n)} - start) { bad = true; }
    let cnt = min(u32(max(s, 0i)), ${u(n)} - start); ${store} start = start + cnt; }`;
  });
  const counts: Step = {
    wgsl: shader([sizes.dtype], ['i64'], 1,
      `  var start = 0u; var bad = false;\n${lines.join('\n')}\n${flag(rows, 'out0')}`),
    invocations: 1, reads: [{ input: 1 }], writes: ['rowCounts'],
  };
  // One dispatch per piece (bindings stay at three whatever the number of pieces); rows past its count are 0.
  const pieces = uppers.map((upper, e): Step => {
    const body = `  let r = i / ${u(inner)}; let p = sy_piece(${u(e)});
  if (r < p.y) { out0[i] = in0[(p.x + r) * ${u(inner)} + i % ${u(inner)}]; } else { out0[i] = ${zeroOf(x)}; }`;
    const wgsl = shader([x.dtype, sizes.dtype], [x.dtype], upper * inner, body, pieceHelper(n, 'in1'));
    return { wgsl, invocations: upper * inner, reads: [{ input: 0 }, { input: 1 }], writes: [{ output: e }] };
  });
  const outShapes = uppers.map((r) => [r, ...x.shape.slice(1)]);
  return { kind: 'steps', outShapes, steps: [counts, ...pieces], padded: true };
};

const concatRows: GpuKernel = ([, ...pieces], attrs, ctx) => {
  // The pieces' true row counts are their dims' counts (as the reference concatenates the pieces it is given).
  const rows = rowsOf(ctx);
  const n = ctx.dim(attrs.rows as Dim)!;
  const inner = numel(pieces[0].shape.slice(1));
  const count = (e: number, words: string) => countOf(ctx.node.inputs[1 + e].shape[0], pieces[e].shape[0], rows, words);
  const before = (e: number, words: string) => pieces.slice(0, e).map((_, j) => count(j, words)).join(' + ') || '0u';
  const steps = pieces.map((p, e): Step => {
    const body = `  let r = i / ${u(inner)}; let start = ${before(e, 'in0')};
  if (r < ${count(e, 'in0')} && start + r < ${u(n)}) {
    out0[(start + r) * ${u(inner)} + i % ${u(inner)}] = in1[i];
  }`;
    const m = numel(p.shape);
    return { wgsl: shader(['i64', p.dtype], [p.dtype], m, body), invocations: m, reads: ['rowCounts', { input: 1 + e }],
      writes: [{ output: 0 }] };
  });
  // Rows past the pieces' total are zero; a total other than the declared rows is the reference's shape error.
  const total = before(pieces.length, 'out1');
  const size = n * inner;
  const tail = `  let total = ${total}; let bad = total != ${u(n)};
  if (i < ${u(size)} && i / ${u(inner)} >= total) { out0[i] = ${zeroOf(pieces[0])}; }
  if (i == 0u) {
${flag(rows, 'out1')}
  }`;
  steps.push({ wgsl: shader([], [pieces[0].dtype, 'i64'], Math.max(1, size), tail), invocations: Math.max(1, size),
    reads: [], writes: [{ output: 0 }, 'rowCounts'] });
  return { kind: 'steps', outShapes: [[n, ...pieces[0].shape.slice(1)]], steps, padded: true };
};

const nonzero: GpuKernel = ([mask], attrs, ctx) => {
  // Entry i of the result is the position of the i-th true element: each true element counts those before it
  // (O(n^2), the plain version, as topk). Invocation 0 writes the count; entries past it are 0.
  const w = rowsOf(ctx).word(attrs.dim as Dim)!;
  const n = mask.shape[0];
  const body = `  var total = 0u; var before = 0u;
  for (var j = 0u; j < ${u(n)}; j++) {
    if (in0[j] != 0i) { total = total + 1u; if (j < i) { before = before + 1u; } }
  }
  if (i < ${u(n)} && in0[i] != 0i) { out0[before] = i32(i); }
  if (i < ${u(n)} && i >= total) { out0[i] = 0i; }
  if (i == 0u) { out1[${w}] = i32(total); }`;
  const step: Step = { wgsl: shader([mask.dtype], ['i64', 'i64'], Math.max(1, n), body), invocations: Math.max(1, n),
    reads: [{ input: 0 }], writes: [{ output: 0 }, 'rowCounts'] };
  return { kind: 'steps', outShapes: [[n]], steps: [step], padded: true } satisfies StepsPlan;
};

function zeroOf(x: GpuValue): string {
  return x.dtype === 'f32' ? '0.0' : '0i';
}

/**
 * The dispatch that zeroes the padding of a value of `shape` (upper bounds) whose `axes` are run-time dims with
 * the given row-count words: every element at or past a count along one of them becomes 0.
 *
 * @example
 * paddingStep({ dtype: 'f32', shape: [6, 4] }, [{ axis: 0, word: 1 }]); // rows >= counts[1] of a [?rows1, 4]
 */
export function paddingStep(x: GpuValue, axes: { axis: number; word: number }[]): Step {
  const coord = (a: number) => `(i / ${u(numel(x.shape.slice(a + 1)))}) % ${u(x.shape[a])}`;
  const past = axes.map(({ axis, word }) => `${coord(axis)} >= u32(max(in0[${word}], 0i))`).join(' || ');
  const size = numel(x.shape);
  return { wgsl: shader(['i64'], [x.dtype], size, `  if (${past}) { out0[i] = ${zeroOf(x)}; }`), invocations: size,
    reads: ['rowCounts'], writes: [{ output: 0 }] };
}

/** Kernels of the ops with run-time row counts. */
export const rowGpuKernels: Record<string, GpuKernel> = { splitRows, concatRows, nonzero };
