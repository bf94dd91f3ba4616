/**
 * Kernels per GPT training step on WebGPU, with and without the fusion pass: the traced step of
 * tests/webgpu/gpt-step.ts (forward, cross-entropy, backward, AdamW over every parameter; no K-step loop) for
 * the `tiny` preset, counted from the node list the executor runs (no GPU needed; see `countKernels`).
 *
 * Usage: node bin/run-ts.js bench/webgpu-kernel-count.ts [maxBindings=16]
 */
import { GPT_PRESETS } from '../src/models/gpt.ts';
import { countKernels, fuseGraph } from '../src/runtime/webgpu/fuse.ts';
import { gptStep } from '../tests/webgpu/gpt-step.ts';

const maxBindings = Number(process.argv[2] ?? 16);
for (const layers of [2, 4]) {
  const { graph } = gptStep({ ...GPT_PRESETS.tiny, layers }, 1);
  const fused = fuseGraph(graph, { maxBindings });
  const params = graph.inputs.filter((t) => t.name?.endsWith('.exp_avg')).length;
  console.log(`GPT tiny, ${layers} layers (${params} parameters, ${graph.nodes.length} nodes): ` +
    `${countKernels(graph.nodes, graph.outputs)} kernels unfused, ${countKernels(fused, graph.outputs)} fused ` +
    `(multi-tensor AdamW packs at ${maxBindings} bindings)`);
}
