/**
 * The executor's side of run-time row counts (design: the comment atop `kernels/rows.ts`): which dims are counted
 * on the GPU and in which word of the row-count buffer, the upper bound each has in a run, the padding pass after
 * a kernel, the graphs this design cannot run (rejected before running), and the true shapes of fetched outputs.
 */
import type { Graph, Node, Tensor } from '../../core/graph.ts';
import type { Dim } from '../../core/shape.ts';
import { SwitchyardError } from '../../util/errors.ts';
import type { HostTensor } from './../executor.ts';
import { numel, stridesOf } from '../reference/tensor.ts';
import { paddingStep } from './kernels/rows.ts';
import type { RowCountContext, Step } from './kernels/wgsl.ts';

/** Ops that count or compare along an axis (zero padding would change their result), and the axes they use. */
const COUNTING_AXES: Record<string, (node: Node) => number[]> = {
  reduceMean: (n) => n.attrs.axes as number[],
  reduceMax: (n) => n.attrs.axes as number[],
  numel: (n) => n.attrs.axes as number[],
  argmax: (n) => [n.attrs.axis as number],
  softmax: (n) => [n.attrs.axis as number],
  logSoftmax: (n) => [n.attrs.axis as number],
  topk: (n) => [n.attrs.axis as number],
  layerNorm: (n) => [n.inputs[0].rank - 1],
};

/** The run-time row counts of one executable: one i32 word each after the status word 0. */
export class RowCounts {
  private readonly words = new Map<string, number>();
  /** Nodes that can fail on bad sizes; node k writes k + 1 into the status word. */
  private readonly checked: Node[] = [];
  private readonly upper = new Map<string, number>();

  private constructor(graph: Graph) {
    const nodes = allNodes(graph);
    for (const node of nodes) {
      const made = node.op === 'splitRows' ? (node.attrs.dims as Dim[])
        : node.op === 'nonzero' ? [node.attrs.dim as Dim] : [];
      for (const d of made) {
        if (typeof d === 'string' && d.startsWith('?') && !this.words.has(d)) this.words.set(d, this.words.size + 1);
      }
      if (node.op === 'splitRows' || node.op === 'concatRows') this.checked.push(node);
    }
    for (const node of nodes) this.checkRowAxes(node);
  }

  /**
   * The row counts of `graph`, or null when it has no op with run-time row counts. Throws `E_WEBGPU_OP` when an
   * op counts or compares along a run-time dim (see the design note).
   *
   * @example
   * const rows = RowCounts.of(graph); // null for a dense MLP step
   */
  static of(graph: Graph): RowCounts | null {
    const rows = new RowCounts(graph);
    return rows.words.size || rows.checked.length ? rows : null;
  }

  /** Number of i32 words of the row-count buffer (status word included). */
  get size(): number {
    return this.words.size + 1;
  }

  /** What the kernels of `node` see of the row counts. */
  context(node: Node): RowCountContext {
    const word = (d: Dim) => (typeof d === 'string' ? this.words.get(d) : undefined);
    return { word, failCode: this.checked.indexOf(node) + 1 };
  }

  /** The upper bound of run-time dim `d` in this run, once the op that makes it has been planned. */
  upperBound(d: Dim): number | undefined {
    return typeof d === 'string' ? this.upper.get(d) : undefined;
  }

  /** Records the upper bounds of the run-time dims among `node`'s outputs, given their planned shapes. */
  planned(node: Node, shapes: number[][]): void {
    node.outputs.forEach((t, k) => t.shape.forEach((d, j) => {
      if (typeof d === 'string' && this.words.has(d)) this.upper.set(d, shapes[k][j]);
    }));
  }

  /** The run-time axes of `t` and their words. */
  axes(t: Tensor): { axis: number; word: number }[] {
    const out: { axis: number; word: number }[] = [];
    t.shape.forEach((d, axis) => {
      const word = typeof d === 'string' ? this.words.get(d) : undefined;
      if (word !== undefined) out.push({ axis, word });
    });
    return out;
  }

  /** The dispatch zeroing the padding of output `t` of planned `shape`; null when it has no run-time dim. */
  padding(t: Tensor, shape: number[]): Step | null {
    const axes = this.axes(t);
    return axes.length && numel(shape) ? paddingStep({ dtype: t.dtype, shape }, axes) : null;
  }

  /** Throws `E_SHAPE` naming the node whose sizes did not fit, when the status word says one did not. */
  checkStatus(words: Int32Array): void {
    const code = words[0];
    if (code === 0) return;
    const node = this.checked[code - 1];
    const where = node?.scope ? `${node.scope}: ${node.op}` : (node?.op ?? 'splitRows');
    throw new SwitchyardError('E_SHAPE', `${where}: the row counts do not fit the rows (checked on the GPU)`,
      'the sizes must be >= 0 and add up to the rows, as for the CPU runtime');
  }

  /** A fetched output with its run-time dims cut to their counts (`words`: the row-count buffer read back). */
  trueTensor(t: Tensor, out: HostTensor, words: Int32Array): HostTensor {
    const axes = this.axes(t);
    if (!axes.length) return out;
    const shape = [...out.shape];
    for (const { axis, word } of axes) shape[axis] = Math.min(Math.max(words[word], 0), shape[axis]);
    return { ...out, shape, data: compact(out.data, out.shape, shape) };
  }

  private checkRowAxes(node: Node): void {
    const x = node.inputs[0];
    const dynamic = x ? this.axes(x) : [];
    if (!dynamic.length) return;
    const fail = (axis: number, hint: string) => {
      const where = node.scope ? ` (in ${node.scope})` : '';
      throw new SwitchyardError('E_WEBGPU_OP',
        `the WebGPU runtime cannot run '${node.op}' along the run-time dim ${x.shape[axis]}${where}`, hint);
    };
    // A reshape only relabels the buffer, laid out for the upper bound: it must keep the counted rows leading.
    if (node.op === 'reshape' && (dynamic.some(({ axis }) => axis !== 0) || node.outputs[0].shape[0] !== x.shape[0])) {
      fail(dynamic[0].axis, 'keep the run-time dim as the leading dim of both shapes, or run on the CPU');
    }
    const axesOf = COUNTING_AXES[node.op];
    const used = axesOf ? axesOf(node).map((a) => (a < 0 ? a + x.rank : a)) : [];
    const hit = dynamic.find(({ axis }) => used.includes(axis));
    if (hit) {
      fail(hit.axis, 'along a run-time row count WebGPU only sums: use reduceSum (divide by a count you computed), '
        + 'or run on the CPU');
    }
  }
}

/** The nodes of `graph` and of the bodies of its loops (a K-step loop runs its body's row ops on the GPU too). */
function allNodes(graph: Graph): Node[] {
  return graph.nodes.flatMap((n) => (n.op === 'loop' ? [n, ...allNodes(n.attrs.body as Graph)] : [n]));
}

/** The elements of `data` (of shape `from`) inside the leading corner `to` (each dim <= from's). */
function compact(data: HostTensor['data'], from: number[], to: number[]): HostTensor['data'] {
  const n = numel(to);
  const out = new (data.constructor as new (n: number) => typeof data)(n);
  const st = stridesOf(from);
  for (let i = 0; i < n; i++) {
    let rest = i;
    let off = 0;
    for (let j = to.length - 1; j >= 0; j--) {
      off += (rest % to[j]) * st[j];
      rest = Math.floor(rest / to[j]);
    }
    out[i] = data[off];
  }
  return out;
}
