/**
 * The ONNX lowering of `scatterNDAdd` (the gradient of gather, gatherND and the MoE capacity buffer): exact and the
 * same run after run at any thread count.
 *
 * ONNX Runtime's ScatterND with reduction 'add' splits the updates across threads, and two threads adding into the
 * same row lose updates (issue 11: an embedding gradient off by up to 20% in most runs at 2 threads). So repeated
 * addresses are summed before anything is scattered: the rows are sorted (TopK), the updates put in that order
 * (Gather), summed by a float64 prefix sum (CumSum), and each row's total is the difference of the prefix sums at the
 * ends of its run — one rounding to float32 (after a float64 error of about M * 2^-53 of the column's whole mass),
 * closer to the float64 reference than a sequential float32 sum. Those
 * totals have one row each, so the final ScatterND 'add' has no repeated index. When no row repeats (a permutation)
 * the updates go to that ScatterND directly. bench/scatter-add.ts measured this against ScatterElements 'add'
 * (exact too, and as fast at a 32000-row table, but 2-20x slower at 256 rows or for a permutation) and a one-hot
 * matmul (no faster than ScatterElements even at 256 rows).
 *
 * A prefix sum carries a NaN or an infinity into every later row's total, so when the updates are not all finite
 * an If takes ScatterElements 'add' instead (exact and repeatable in ORT at 2+ threads, as
 * tests/runtime/ort-threads.test.ts checks, and each row's total sees only its own updates, as in the reference).
 */
import type { Node } from '../../core/graph.ts';
import type { GraphEmitter } from './lower.ts';
import { attr } from './proto.ts';

const ONNX_FLOAT = 1;
const ONNX_DOUBLE = 11;
/** An end past any axis, for Slice. */
const TO_END = Number.MAX_SAFE_INTEGER;

/**
 * Emits the ONNX nodes of one IR `scatterNDAdd` node (see the module comment).
 *
 * @param em the emitter of the graph being lowered
 * @param n the IR node; its inputs are base, indices [..., depth] and updates
 * @param ins the ONNX names of base, indices and updates
 * @param outs the ONNX name of the result
 * @example
 * // In the lowering table of lower-ops.ts:
 * const LOWERINGS = { scatterNDAdd: lowerScatterNDAdd };
 */
export function lowerScatterNDAdd(em: GraphEmitter, n: Node, ins: string[], outs: string[]): void {
  const [base, indices, updates] = ins;
  const idx = n.inputs[1];
  const depth = idx.shape[idx.rank - 1] as number;
  const rows = rowOfEachAddress(em, n, indices, depth); // [M]: row of base viewed as [R, S]
  const [baseRows] = em.emit('Flatten', [base], { axis: attr.int(depth) }); // [R, S]
  const [updateRows] = em.emit('Flatten', [updates], { axis: attr.int(idx.rank - 1) }); // [M, S]
  const { sortedRows, order, ends } = sortedRuns(em, rows);
  // Fewer runs than rows: some row repeats. Sorting and the run ends only touch [M] vectors; the [M, S] work of
  // summing runs is spent only then (a permutation, as in MoE's combine, goes straight to ScatterND).
  const [repeats] = em.emit('Less', [em.emit('Shape', [ends])[0], em.emit('Shape', [rows])[0]]);
  const add = attr.string('add');
  const eachOnce = em.branch((b) => {
    const [at] = b.emit('Unsqueeze', [rows, b.ints([-1])]);
    return b.emit('ScatterND', [baseRows, at, updateRows], { reduction: add })[0];
  }, 'float32');
  const summed = em.branch((b) => {
    const prefix = prefixSums(b, updateRows, order);
    // The last prefix row holds every column's total: finite exactly when every update is.
    const [total] = b.emit('ReduceSum', [rowRange(b, prefix, -1, TO_END)], { keepdims: attr.int(0) });
    const [nonFinite] = b.emit('Or', [b.emit('IsNaN', [total])[0], b.emit('IsInf', [total])[0]]);
    const sequential = b.branch((c) => {
      const [at] = c.emit('Expand', [c.emit('Unsqueeze', [rows, c.ints([-1])])[0], c.emit('Shape', [updateRows])[0]]);
      return c.emit('ScatterElements', [baseRows, at, updateRows], { axis: attr.int(0), reduction: add })[0];
    }, 'float32');
    const byRuns = b.branch((c) => {
      const [runRows] = c.emit('Gather', [sortedRows, ends], { axis: attr.int(0) });
      const [at] = c.emit('Unsqueeze', [runRows, c.ints([-1])]);
      // One update per row now: no two threads add into the same row.
      return c.emit('ScatterND', [baseRows, at, runTotals(c, prefix, ends)], { reduction: add })[0];
    }, 'float32');
    return b.emit('If', [nonFinite], { then_branch: attr.graph(sequential), else_branch: attr.graph(byRuns) })[0];
  }, 'float32');
  const [scattered] = em.emit('If', [repeats], { then_branch: attr.graph(summed), else_branch: attr.graph(eachOnce) });
  em.emit('Reshape', [scattered, em.emit('Shape', [base])[0]], { allowzero: attr.int(1) }, outs);
}

/** Rows `start` to `end` (exclusive; negative counts from the end) of `x` along axis 0. */
function rowRange(em: GraphEmitter, x: string, start: number, end: number): string {
  return em.emit('Slice', [x, em.ints([start]), em.ints([end]), em.ints([0])])[0];
}

/**
 * The row of `base` viewed as [R, S] (R = the product of the first `depth` dims) that each address in `indices`
 * [..., depth] names, as int64 [M]. Negative indices count from the end as in ScatterND; an index out of range
 * (either way) becomes -R - 1, so the scatter that uses it fails as ScatterND would have.
 */
function rowOfEachAddress(em: GraphEmitter, n: Node, indices: string, depth: number): string {
  const base = n.inputs[0];
  if (depth === 0) {
    // Every address names the whole of base: row 0 of a [1, S] view.
    const [zeros] = em.emit('ReduceSum', [indices, em.ints([-1])], { keepdims: attr.int(0) });
    return em.emit('Reshape', [zeros, em.ints([-1])])[0];
  }
  let row = '';
  let bad = '';
  let rowCount = em.ints([1]);
  for (let j = 0; j < depth; j++) {
    const size = em.shapeTensor([base.shape[j]], true); // int64 [1]
    const [raw] = em.emit('Gather', [indices, em.int(j)], { axis: attr.int(-1) });
    const [i] = em.emit('Where', [em.emit('Less', [raw, em.int(0)])[0], em.emit('Add', [raw, size])[0], raw]);
    const [outside] = em.emit('Or', [em.emit('Less', [i, em.int(0)])[0], em.emit('GreaterOrEqual', [i, size])[0]]);
    bad = bad ? em.emit('Or', [bad, outside])[0] : outside;
    row = j === 0 ? i : em.emit('Add', [em.emit('Mul', [row, size])[0], i])[0];
    [rowCount] = em.emit('Mul', [rowCount, size]);
  }
  [row] = em.emit('Where', [bad, em.emit('Sub', [em.ints([-1]), rowCount])[0], row]);
  return em.emit('Reshape', [row, em.ints([-1])])[0];
}

/** What {@link sortedRuns} returns. */
interface SortedRuns {
  /** The rows, ascending (int64 [M]). */
  sortedRows: string;
  /** Where each row of `sortedRows` was in the input (int64 [M]). */
  order: string;
  /** Where each run of equal rows ends in `sortedRows` (int64 [U]). */
  ends: string;
}

/** Sorts `rows` [M] and finds the runs of equal rows. */
function sortedRuns(em: GraphEmitter, rows: string): SortedRuns {
  const ascending = { axis: attr.int(0), largest: attr.int(0), sorted: attr.int(1) };
  const [sortedRows, order] = em.emit('TopK', [rows, em.emit('Shape', [rows])[0]], ascending, 2);
  // A run ends where the next row differs; -1 (no valid row) stands after the last one.
  const [next] = em.emit('Concat', [rowRange(em, sortedRows, 1, TO_END), em.ints([-1])], { axis: attr.int(0) });
  const [isEnd] = em.emit('Not', [em.emit('Equal', [sortedRows, next])[0]]);
  const [ends] = em.emit('Reshape', [em.emit('NonZero', [isEnd])[0], em.ints([-1])]);
  return { sortedRows, order, ends };
}

/** float64 running sums ([M, S]) of `values` [M, S] taken in `order`. */
function prefixSums(em: GraphEmitter, values: string, order: string): string {
  const [inOrder] = em.emit('Gather', [values, order], { axis: attr.int(0) });
  const [wide] = em.emit('Cast', [inOrder], { to: attr.int(ONNX_DOUBLE) });
  return em.emit('CumSum', [wide, em.int(0)])[0];
}

/** float32 [U, S]: each run's sum, the prefix sum at its end minus the one at the previous run's end (0 first). */
function runTotals(em: GraphEmitter, prefix: string, ends: string): string {
  const [atEnd] = em.emit('Gather', [prefix, ends], { axis: attr.int(0) });
  const zero = attr.tensor({ name: '', dtype: 'float64', dims: [1], data: Float64Array.of(0) });
  const [zeros] = em.emit('ConstantOfShape', [em.emit('Shape', [rowRange(em, atEnd, 0, 1)])[0]], { value: zero });
  const [before] = em.emit('Concat', [zeros, rowRange(em, atEnd, 0, -1)], { axis: attr.int(0) });
  return em.emit('Cast', [em.emit('Sub', [atEnd, before])[0]], { to: attr.int(ONNX_FLOAT) })[0];
}
