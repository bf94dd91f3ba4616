import { SwitchyardError } from '../util/errors.ts';
import { isFloat } from './dtype.ts';
import { currentGraph, type Graph, type Node, type Tensor, withScope } from './graph.ts';
import { fullLike, zerosLike } from './ops/constant.ts';
import { add } from './ops/elementwise.ts';
import { getOp } from './ops/registry.ts';

import { type Dim, sameShape } from './shape.ts';

/**
 * Reverse-mode differentiation as a graph transform: appends to the current graph the nodes computing
 * d`output`/d`wrt[i]`, walking the forward nodes backwards and applying each op's gradient rule (written in
 * ops). Gradients of values used more than once are summed. `output` must be an f32 scalar unless `seed`
 * (the incoming gradient, shaped like `output`) is given. Inputs without a path to `output` get zeros.
 */
export function backward(output: Tensor, wrt: Tensor[], seed?: Tensor): Tensor[] {
  const g = currentGraph();
  output = g.own(output);
  wrt = wrt.map((t) => g.own(t));
  if (!seed && output.rank !== 0) {
    throw new SwitchyardError('E_GRAD', `grad needs a scalar output, got ${output}`, 'reduce the loss to a scalar (reduceMean) or pass a seed gradient');
  }
  if (!isFloat(output.dtype)) throw new SwitchyardError('E_GRAD', `cannot differentiate a ${output.dtype} output`, 'differentiate a float value');
  if (seed) {
    seed = g.own(seed);
    // A seed of another dtype or shape would flow into the rules and come out as wrongly shaped gradients.
    const out = output.shape;
    const agree = (d: Dim, i: number) => d === out[i] || typeof d !== 'number' || typeof out[i] !== 'number';
    const fits = seed.rank === out.length && seed.shape.every(agree);
    if (seed.dtype !== output.dtype || !fits) {
      const hint = 'pass a seed with the dtype and shape of the output';
      throw new SwitchyardError('E_GRAD', `seed gradient ${seed} does not match the output ${output}`, hint);
    }
  }

  // Nodes that depend on some wrt tensor (forward reachability).
  const wrtIds = new Set(wrt.map((t) => t.id));
  const depends = new Set<number>(wrtIds);
  const nodes = g.nodes;
  const stop = output.node ? output.node.id : -1;
  // A loop also reads the outer tensors its body captured.
  const reads = (n: Node): Tensor[] => (n.op === 'loop' ? [...n.inputs, ...(n.attrs.body as Graph).captures.keys()] : n.inputs);
  for (let i = 0; i <= stop; i++) {
    const n = nodes[i];
    if (n.op === 'stopGradient') continue;
    if (reads(n).some((t) => depends.has(t.id))) for (const o of n.outputs) depends.add(o.id);
  }

  const grads = new Map<number, Tensor>();
  const accumulate = (t: Tensor, gr: Tensor) => {
    if (!sameShape(gr.shape, t.shape)) gr = fitShape(gr, t);
    const prev = grads.get(t.id);
    grads.set(t.id, prev ? add(prev, gr) : gr);
  };
  accumulate(output, seed ?? fullLike(output, 1));

  for (let i = stop; i >= 0; i--) {
    const n: Node = nodes[i];
    const outGrads = n.outputs.map((o) => grads.get(o.id) ?? null);
    if (outGrads.every((x) => x === null)) continue;
    const needs = n.inputs.map((t) => depends.has(t.id) && isFloat(t.dtype));
    const rule = getOp(n.op).grad;
    if (!rule) {
      // Never return silently wrong (zero) gradients through an op that has no rule (a loop).
      if (n.op !== 'stopGradient' && reads(n).some((t) => depends.has(t.id) && isFloat(t.dtype))) {
        throw new SwitchyardError('E_GRAD', `${n.scope ? `${n.scope}: ` : ''}cannot differentiate through '${n.op}'`, 'call backward inside the loop body, or feed the loop stopGradient(x) computed outside it');
      }
      continue;
    }
    if (!needs.some(Boolean)) continue;
    const ins = withScope(n.scope ? `grad(${n.scope})` : 'grad', () => rule({ inputs: n.inputs, outputs: n.outputs, grads: outGrads, attrs: n.attrs, needs }));
    ins.forEach((gr, j) => {
      if (gr && needs[j]) accumulate(n.inputs[j], gr);
    });
  }
  return wrt.map((t) => grads.get(t.id) ?? zerosLike(t));
}

/** Reduces a gradient that picked up broadcast dims back to the shape of `t` (rules normally do this). */
function fitShape(gr: Tensor, t: Tensor): Tensor {
  const lead = gr.rank - t.rank;
  const axes = [...gr.shape.keys()].filter((i) => i < lead || (t.shape[i - lead] === 1 && gr.shape[i] !== 1));
  if (axes.length === 0 && gr.rank === t.rank) return gr;
  throw new SwitchyardError('E_GRAD', `internal: gradient ${gr} does not match ${t} (${axes.length ? 'unreduced broadcast' : 'shape'})`, 'report this as a bug with the model code');
}

/**
 * `grad(f)` returns a function computing the gradients of scalar `f` with respect to each argument, as
 * traced tensors appended to the current graph.
 *
 * @example
 * const g = trace((gr) => { const x = gr.input('x', 'f32', [3]); const [dx] = grad((x) => reduceSum(mul(x, x)))(x); return { dx }; });
 */
export function grad(f: (...args: Tensor[]) => Tensor): (...args: Tensor[]) => Tensor[] {
  return (...args) => backward(f(...args), args);
}

/**
 * Like {@link grad} but also returns the value: `{ value, grads }`.
 *
 * @example
 * const { value, grads } = valueAndGrad((w, x) => reduceMean(square(matmul(x, w))))(w, x);
 */
export function valueAndGrad(f: (...args: Tensor[]) => Tensor): (...args: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  return (...args) => {
    const value = f(...args);
    return { value, grads: backward(value, args) };
  };
}

