import { currentGraph, Graph, type Tensor, withGraph } from '../graph.ts';
import { sameShape } from '../shape.ts';
import { apply, defineOp, fail } from './registry.ts';

defineOp({
  name: 'loop',
  infer(inits, attrs, where) {
    const body = attrs.body as Graph;
    const nScan = attrs.scans as number;
    const trips = attrs.trips as number | string;
    if (body.inputs.length !== inits.length + 1) fail(where, `loop body takes ${body.inputs.length - 1} carried values, got ${inits.length}`, 'pass one initial value per carried value');
    inits.forEach((t, i) => {
      const carried = body.outputs[i];
      const inp = body.inputs[i + 1];
      if (!carried || carried.dtype !== t.dtype || !sameShape(carried.shape, t.shape) || !sameShape(inp.shape, t.shape)) {
        fail(where, `loop carried value ${i} is ${t} before and ${carried} after the body`, 'a carried value must keep its dtype and shape');
      }
    });
    if (body.outputs.length !== inits.length + nScan) fail(where, 'loop body output count mismatch', 'return carried values then per-iteration outputs');
    const scans = body.outputs.slice(inits.length).map((t) => ({ dtype: t.dtype, shape: [trips, ...t.shape] }));
    return [...inits.map((t) => ({ dtype: t.dtype, shape: t.shape })), ...scans];
  },
});

/**
 * Runs `body` `trips` times (an ONNX Loop; `trips` may be a symbolic dim of an input, fixed at run time): `carried` values flow from one iteration to the next, and each
 * `scans` output is stacked over iterations into a new leading axis. The body may read any tensor of the
 * enclosing graph (it is captured, not copied). Returns `[...finalCarried, ...stackedScans]`.
 *
 * @example
 * const [total] = loop(4, [zero], (i, acc) => ({ carried: [add(acc, 1)], scans: [] }));
 */
export function loop(
  trips: number | string,
  carried: Tensor[],
  body: (iter: Tensor, ...carried: Tensor[]) => { carried: Tensor[]; scans: Tensor[] },
): Tensor[] {
  const outer = currentGraph();
  const g = new Graph(outer);
  const iter = g.input('iter', 'i64', []);
  const inner = carried.map((t, i) => g.input(`carried_${i}`, t.dtype, t.shape));
  const res = withGraph(g, () => body(iter, ...inner));
  g.setOutputs([...res.carried.map((t, i): [string, Tensor] => [`carried_${i}`, t]), ...res.scans.map((t, i): [string, Tensor] => [`scan_${i}`, t])]);
  return apply('loop', carried, { body: g, trips, scans: res.scans.length });
}
