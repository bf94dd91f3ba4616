/**
 * Kernels per GPT training step on WebGPU, with and without the fusion pass: the traced step of
 * tests/webgpu/gpt-step.ts (forward, cross-entropy, backward, AdamW over every parameter; no K-step loop) for
 * the `tiny` preset, counted from the node list the executor runs (no GPU needed). Kernels are nodes that
 * the outputs need, less constants (uploads) and reshapes/identities (aliases).
 *
 * Usage: node bin/run-ts.js bench/webgpu-kernel-count.ts [maxBindings=16]
 */
import type { Node, Tensor } from '../src/core/graph.ts';
import { GPT_PRESETS } from '../src/models/gpt.ts';
import { fuseGraph } from '../src/runtime/webgpu/fuse.ts';
import { gptStep } from '../tests/webgpu/gpt-step.ts';

const NO_DISPATCH = new Set(['const', 'reshape', 'identity', 'stopGradient']);

/** Nodes the outputs need (walking back from them), that dispatch a kernel. */
function kernels(nodes: Node[], outputs: Tensor[]): number {
  const needed = new Set<Tensor>(outputs);
  let count = 0;
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k];
    if (!node.outputs.some((t) => needed.has(t))) continue;
    node.inputs.forEach((t) => needed.add(t));
    if (!NO_DISPATCH.has(node.op)) count++;
  }
  return count;
}

const maxBindings = Number(process.argv[2] ?? 16);
for (const layers of [2, 4]) {
  const { graph } = gptStep({ ...GPT_PRESETS.tiny, layers }, 1);
  const fused = fuseGraph(graph, { maxBindings });
  const params = graph.inputs.filter((t) => t.name?.endsWith('.exp_avg')).length;
  console.log(`GPT tiny, ${layers} layers (${params} parameters, ${graph.nodes.length} nodes): ` +
    `${kernels(graph.nodes, graph.outputs)} kernels unfused, ${kernels(fused, graph.outputs)} fused ` +
    `(multi-tensor AdamW packs at ${maxBindings} bindings)`);
}
