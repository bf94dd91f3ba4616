import type { Graph } from '../../core/graph.ts';
import { type Kernel, numel, type RefTensor, type RefValue } from './tensor.ts';

/** Stacks equally shaped values on a new leading axis. */
function stack(parts: RefTensor[], emptyShape: number[]): RefValue {
  if (parts.length === 0) return { shape: [0, ...emptyShape], data: new Float64Array(0) };
  const shape = parts[0].shape;
  const n = numel(shape);
  const data = new Float64Array(parts.length * n);
  parts.forEach((p, i) => data.set(p.data, i * n));
  return { shape: [parts.length, ...shape], data };
}

/** Kernels of control flow: `loop` runs its body `trips` times, carrying values and stacking scan outputs. */
export const controlKernels: Record<string, Kernel> = {
  loop: (inits, attrs, ctx) => {
    const body = attrs.body as Graph;
    // A symbolic trip count is the run-time size of that dim.
    const trips = ctx.resolve([attrs.trips as number | string])[0];
    const nScan = attrs.scans as number;
    let carried: RefTensor[] = inits;
    const scans: RefTensor[][] = Array.from({ length: nScan }, () => []);
    for (let i = 0; i < trips; i++) {
      const outs = ctx.runBody(body, [{ dtype: 'i64', shape: [], data: Float64Array.of(i) }, ...carried]);
      carried = outs.slice(0, inits.length);
      outs.slice(inits.length).forEach((s, j) => scans[j].push(s));
    }
    const scanOut = ctx.node.outputs.slice(inits.length);
    return [...carried, ...scans.map((parts, j) => stack(parts, ctx.resolve(scanOut[j].shape.slice(1))))];
  },
};
