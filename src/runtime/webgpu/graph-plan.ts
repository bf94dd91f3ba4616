/**
 * What the WebGPU executor checks and counts before it encodes a graph: ops without a kernel and i64 constants
 * past 32 bits are refused up front, and each value's reads are counted so its buffer returns to the pool at its
 * last use. Loop bodies are visited like the top level.
 */
import type { Graph, Node, Tensor, TensorData } from '../../core/graph.ts';
import { SwitchyardError } from '../../util/errors.ts';
import { toDeviceWords } from './buffers.ts';
import { GPU_KERNELS } from './kernels/index.ts';
import { LOOP_OP } from './loop.ts';

/** Throws `E_WEBGPU_OP` naming every op of `graph` that has no WebGPU kernel (and where it is used). */
export function checkSupported(graph: Graph): void {
  const missing = new Map<string, string>();
  const visit = (g: Graph) => {
    for (const node of g.nodes) {
      if (node.op === LOOP_OP) visit(node.attrs.body as Graph);
      else if (node.op !== 'const' && !GPU_KERNELS[node.op] && !missing.has(node.op)) missing.set(node.op, node.scope);
    }
  };
  visit(graph);
  if (missing.size === 0) return;
  const list = [...missing].map(([op, scope]) => (scope ? `'${op}' (in ${scope})` : `'${op}'`)).join(', ');
  throw new SwitchyardError('E_WEBGPU_OP', `the WebGPU runtime has no kernel for ${list}`,
    'run this graph on the CPU (ONNX Runtime) for now; see bench/webgpu-coverage.ts for the ops WebGPU has');
}

/** Refuses i64 constants past 32 bits (`E_WEBGPU_RANGE`) when the graph is prepared, loop bodies included. */
export function checkConstants(graph: Graph): void {
  for (const node of graph.nodes) {
    const t = node.outputs[0];
    if (node.op === LOOP_OP) checkConstants(node.attrs.body as Graph);
    else if (node.op === 'const' && t.dtype === 'i64') {
      toDeviceWords(node.attrs.data as TensorData, t.dtype, `constant of ${node.scope || 'graph'}`);
    }
  }
}

/** The values a node reads: its inputs, and for a loop also the enclosing values its body captures. */
export function readsOf(node: Node): Tensor[] {
  return node.op === LOOP_OP ? [...node.inputs, ...(node.attrs.body as Graph).captures.keys()] : node.inputs;
}

/**
 * How many times each value of `graph` is read in a run: by the nodes that need computing, and once per fetch.
 *
 * @param nodes the nodes a run executes for a graph or a loop body (see {@link WebGpuGraph.nodesOf})
 * @param fetched the values read after the run (outputs to copy back, a body's results)
 * @example
 * const uses = useCounts(exe.nodesOf(body), body.outputs);
 */
export function useCounts(nodes: readonly Node[], fetched: Tensor[]): Map<Tensor, number> {
  const uses = new Map<Tensor, number>();
  for (const t of fetched) uses.set(t, (uses.get(t) ?? 0) + 1);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k];
    if (!node.outputs.some((o) => uses.get(o))) continue;
    for (const t of readsOf(node)) uses.set(t, (uses.get(t) ?? 0) + 1);
  }
  return uses;
}
