import { type Tensor, trace } from '../core/graph.ts';
import type { TensorData } from '../core/graph.ts';
import { bind, type Module } from '../nn/module.ts';
import { CompiledGraph, type HostTensor, type SpinPolicy } from '../runtime/session.ts';
import { encodeModel } from '../runtime/onnx/proto.ts';
import { lowerGraph } from '../runtime/onnx/lower.ts';
import { validateModel } from '../runtime/onnx/validate.ts';
import type { BatchSpec } from './step.ts';

/** A forward computation over a batch: returns named outputs (logits, probabilities, loss...). */
export type ForwardFn = (model: Module, batch: Record<string, Tensor>) => Record<string, Tensor>;

function traceForward(model: Module, fn: ForwardFn, spec: BatchSpec, bakeWeights: boolean) {
  const params = model.named().namedParameters().map(([, p]) => p);
  const initializers = new Map<Tensor, TensorData>();
  const graph = trace((g) => {
    for (const p of params) {
      const t = g.input(p.name, 'f32', p.shape);
      bind(g, p, t);
      if (bakeWeights) initializers.set(t, p.data);
    }
    const batch = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, g.input(k, v.dtype, v.shape)]));
    return fn(model, batch);
  });
  return { graph, initializers, params };
}

/**
 * A compiled evaluation/inference pass (eval mode: no dropout). Parameters are fed on each call, so the same
 * session follows the weights as training changes them.
 *
 * @example
 * const fwd = await Forward.compile(model, (m, b) => ({ probs: softmax(m.call(b.x)) }), { x: { dtype: 'f32', shape: ['batch', 4] } });
 * const { probs } = await fwd.run({ x: { dtype: 'f32', shape: [2, 4], data } });
 */
export class Forward {
  private constructor(
    private readonly compiled: CompiledGraph,
    private readonly model: Module,
  ) {}

  static async compile(model: Module, fn: ForwardFn, spec: BatchSpec, opts: { threads?: number; spin?: SpinPolicy } = {}): Promise<Forward> {
    const { graph } = traceForward(model, fn, spec, false);
    return new Forward(await CompiledGraph.create(graph, { threads: opts.threads, spin: opts.spin, name: 'forward' }), model);
  }

  /** Runs one batch with the model's current weights. */
  run(batch: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    const feeds: Record<string, HostTensor> = { ...batch };
    for (const [n, p] of this.model.namedParameters()) feeds[n] = { dtype: 'f32', shape: p.shape, data: p.data };
    return this.compiled.run(feeds);
  }

  release(): Promise<void> {
    return this.compiled.release();
  }
}

/**
 * The deployable inference graph as ONNX bytes: weights baked in as initializers, batch dims symbolic,
 * validated against the ONNX spec (opset 18). Any ONNX runtime runs it.
 *
 * @example
 * const bytes = exportOnnx(model, (m, b) => ({ probabilities: softmax(m.call(b.features)) }), { features: { dtype: 'f32', shape: ['batch', 12] } });
 */
export function exportOnnx(model: Module, fn: ForwardFn, spec: BatchSpec, metadata: Record<string, string> = {}): Uint8Array {
  const { graph, initializers } = traceForward(model, fn, spec, true);
  const onnx = lowerGraph(graph, { initializers, name: 'switchyard_model', metadata });
  validateModel(onnx);
  return encodeModel(onnx);
}
