/**
 * Graph outputs that are also read inside the graph. ORT 1.30's basic optimisations fuse MatMul + Add into Gemm and
 * remove Identity nodes; with the output routed through an Identity, the value the Gemm reads was lost and the model
 * failed to load ("Node input 'v_0' is not a graph input, initializer, or output of a previous node"). Outputs now
 * take their names where they are made.
 */
import { describe, expect, it } from 'vitest';
import { add, matmul, relu, trace, transpose, type Graph, type Tensor } from '../../src/core/index.ts';
import { lowerGraph } from '../../src/runtime/onnx/lower.ts';
import { compareOrtWithReference, randn } from './ort-helpers.ts';

/** x @ w^T + b, the way nn.Linear traces. */
function linear(g: Graph, h: Tensor, name: string, inputs: number, outputs: number): Tensor {
  const w = g.input(`${name}.weight`, 'f32', [outputs, inputs]);
  return add(matmul(h, transpose(w, [1, 0])), g.input(`${name}.bias`, 'f32', [outputs]));
}

const feeds = {
  x: randn([2, 3], 1), 'a.weight': randn([4, 3], 2), 'a.bias': randn([4], 3),
  'b.weight': randn([5, 4], 4), 'b.bias': randn([5], 5),
};

describe('graph outputs read by later nodes', () => {
  it('penultimate features and logits fetched together load and match the reference', async () => {
    const { ort } = await compareOrtWithReference((g) => {
      const features = relu(linear(g, g.input('x', 'f32', ['batch', 3]), 'a', 3, 4));
      return { features, logits: linear(g, features, 'b', 4, 5) };
    }, feeds);
    expect(ort.features.shape).toEqual([2, 4]);
    expect(ort.logits.shape).toEqual([2, 5]);
  });

  it('a value output twice and an input passed through still get their own names', async () => {
    const { ort } = await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      const h = relu(linear(g, x, 'a', 3, 4));
      return { h, again: h, out: linear(g, h, 'b', 4, 5), echo: x };
    }, feeds);
    expect([...ort.again.data]).toEqual([...ort.h.data]);
    expect([...ort.echo.data]).toEqual([...feeds.x.data].map(Math.fround));
  });

  it('names a node-made output where it is made: no Identity for it', () => {
    const model = lowerGraph(trace((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      const h = relu(x);
      return { h, again: h, echo: x };
    }));
    const identities = model.graph.nodes.filter((n) => n.opType === 'Identity').map((n) => n.outputs[0]);
    expect(identities.sort()).toEqual(['again', 'echo']);
    expect(model.graph.nodes.find((n) => n.opType === 'Relu')?.outputs).toEqual(['h']);
  });
});
