/** Graph bookkeeping (inputs, captures, scalars, scopes), loop rules and the paths of backward. */
import { describe, expect, it } from 'vitest';
import {
  add, apply, backward, cast, currentScope, gather, Graph, isTracing, loop, mul, reduceSum, reshape, scalar,
  stopGradient, type Tensor,
  trace, withScope,
} from '../../src/core/index.ts';
import { refTensor, runReference } from '../../src/runtime/reference/index.ts';
import { expectCode } from '../expect-error.ts';

/** Runs `fn` inside a throwaway trace. */
function traced(fn: (g: Graph) => void): void {
  trace((g) => {
    fn(g);
    return {};
  });
}

describe('graph bookkeeping', () => {
  it('a new graph is empty; trace names a lone output "out"', () => {
    const empty = new Graph();
    expect([empty.inputs, empty.outputs, empty.outputNames, empty.nodes]).toEqual([[], [], [], []]);
    const g = trace((gr) => mul(gr.input('x', 'f32', [2]), 2));
    expect(g.outputNames).toEqual(['out']);
    expect(g.inputs.map((t) => t.name)).toEqual(['x']);
  });
  it('inputs are unique; tensors stay in their graph; ops need a trace', () => {
    let outside: Tensor | undefined;
    traced((g) => {
      outside = g.input('x', 'f32', [2]);
      expectCode(() => g.input('x', 'f32', [3]),
        'E_GRAPH', /^graph input 'x' is declared twice$/, /^give every input a unique name$/);
    });
    traced((g) => {
      expectCode(() => add(outside!, g.input('y', 'f32', [2])), 'E_GRAPH', /^tensor f32\[2\] belongs to another graph$/,
        /^do not mix tensors from separate traces$/);
    });
    expectCode(() => add(outside!, 1),
      'E_TRACE', /^an op was called outside a trace$/,
      /^build graphs inside trace\(\(\) => \.\.\.\) or a compiled step$/);
  });
  it('isTracing is true only inside a trace', () => {
    expect(isTracing()).toBe(false);
    traced(() => expect(isTracing()).toBe(true));
    expect(isTracing()).toBe(false);
  });
  it('scalars are made once per graph', () => {
    const g = trace((gr) => {
      const x = gr.input('x', 'f32', [2]);
      return { a: mul(x, 2), b: add(mul(x, 2), scalar(2)) };
    });
    expect(g.nodes.filter((n) => n.op === 'const')).toHaveLength(1);
  });
  it('empty scope names are skipped in the module path', () => {
    withScope('a', () => withScope('', () => withScope('b', () => expect(currentScope()).toBe('a.b'))));
    withScope('', () => withScope('c', () => expect(currentScope()).toBe('c')));
    expect(currentScope()).toBe('');
    traced((g) => {
      const x = g.input('x', 'f32', [2]);
      const inEmptyScope = () => withScope('', () => gather(x, x));
      withScope('enc', () => expectCode(inEmptyScope, 'E_DTYPE', /^enc: gather: indices has dtype f32/));
    });
  });
});

describe('loop bodies', () => {
  it('name their inputs and outputs, capture an outer tensor once, and number tensors uniquely', () => {
    traced((g) => {
      const w = g.input('w', 'f32', [2]);
      const x = g.input('x', 'f32', [2]);
      const y = g.input('y', 'i64', [2]);
      let iter: Tensor | undefined;
      const outs = loop(3, [x, y], (i, a, b) => {
        iter = i;
        return { carried: [add(mul(a, w), w), b], scans: [reduceSum(a)] };
      });
      expect(outs.map((t) => [t.dtype, t.shape])).toEqual([['f32', [2]], ['i64', [2]], ['f32', [3]]]);
      const body = outs[0].node?.attrs.body as Graph;
      expect([iter?.dtype, iter?.shape, iter?.name]).toEqual(['i64', [], 'iter']);
      const named = body.inputs.map((t) => [t.name, t.dtype]);
      expect(named).toEqual([['iter', 'i64'], ['carried_0', 'f32'], ['carried_1', 'i64']]);
      expect(body.outputNames).toEqual(['carried_0', 'carried_1', 'scan_0']);
      expect(body.captures.size).toBe(1);
      expect(body.own(w)).toBe(body.captures.get(w));
      expect(body.own(w)).toBe(body.own(w));
      const ids = [...body.inputs, ...body.captures.values(), ...body.nodes.flatMap((n) => n.outputs)].map((t) => t.id);
      expect(new Set(ids).size).toBe(ids.length);
    });
  });
  it('symbolic trip counts lead the scans', () => {
    traced((g) => {
      const x = g.input('x', 'f32', [2]);
      const [, s0, s1] = loop('n', [x], (_i, a) => ({ carried: [a], scans: [a, reduceSum(a)] }));
      expect([s0.shape, s1.shape]).toEqual([['n', 2], ['n']]);
    });
  });
  it('carried values must keep their count, dtype and shape', () => {
    traced((g) => {
      const x = g.input('x', 'f32', [2]);
      const y = g.input('y', 'f32', [2]);
      const hint = /^a carried value must keep its dtype and shape$/;
      expectCode(() => loop(2, [x, y], (_i, a) => ({ carried: [a], scans: [] })), 'E_SHAPE',
        /^loop: loop carried value 1 is f32\[2\] before and undefined after the body$/, hint);
      expectCode(() => loop(2, [x], (_i, a) => ({ carried: [cast(a, 'i64')], scans: [] })), 'E_SHAPE',
        /carried value 0 is f32\[2\] before and i64\[2\] after/, hint);
      expectCode(() => loop(2, [x], (_i, a) => ({ carried: [reshape(a, [1, 2])], scans: [] })),
        'E_SHAPE', /f32\[1, 2\] after/, hint);
      expectCode(() => loop(2, [x], (_i, a) => ({ carried: [a, a], scans: [] })),
        'E_SHAPE', /^loop: loop body output count mismatch$/,
        /^return carried values then per-iteration outputs$/);
    });
  });
  it('a loop op checks its body takes one input per initial value', () => {
    traced((g) => {
      const x = g.input('x', 'f32', [2]);
      const [one] = loop(2, [x], (_i, a) => ({ carried: [a], scans: [] }));
      const body = one.node?.attrs.body as Graph;
      expectCode(() => apply('loop', [x, x], { body, trips: 2, scans: 0 }),
        'E_SHAPE', /^loop: loop body takes 1 carried values, got 2$/,
        /^pass one initial value per carried value$/);
    });
  });
});

describe('backward', () => {
  it('checks the output', () => {
    traced((g) => {
      const x = g.input('x', 'f32', [2]);
      expectCode(() => backward(x, [x]), 'E_GRAD', /^grad needs a scalar output, got f32\[2\]$/,
        /^reduce the loss to a scalar \(reduceMean\) or pass a seed gradient$/);
      expectCode(() => backward(g.input('i', 'i64', []), []),
        'E_GRAD', /^cannot differentiate a i64 output$/, /^differentiate a float value$/);
    });
  });
  it('d input / d input is one, without other nodes in the graph', () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', []);
      return { dx: backward(x, [x])[0] };
    });
    expect([...runReference(graph, { x: refTensor([4], []) }).dx.data]).toEqual([1]);
  });
  it('rejects a seed of another dtype or shape than the output (it gave wrongly shaped gradients)', () => {
    const hint = /^pass a seed with the dtype and shape of the output$/;
    traced((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      const y = mul(x, 2);
      const wrong = [[2, 1], [2, 5], [3], [4, 2, 3], [1, 3]];
      wrong.forEach((shape, k) => {
        const seed = g.input(`s${k}`, 'f32', shape);
        const err = expectCode(() => backward(y, [x], seed), 'E_GRAD', undefined, hint);
        expect(err.message).toBe(`seed gradient ${seed} does not match the output f32[2, 3]`);
      });
      const intSeed = g.input('i', 'i64', [2, 3]);
      expectCode(() => backward(y, [x], intSeed), 'E_GRAD', /^seed gradient i64\[2, 3\] does not match/, hint);
      const [dx] = backward(y, [x], g.input('ok', 'f32', [2, 3]));
      expect(dx.shape).toEqual([2, 3]);
    });
  });
  it('a symbolic seed that hides a broadcast is an internal error; symbolic matches pass', () => {
    traced((g) => {
      const x = g.input('x', 'f32', [1, 'm']);
      expectCode(() => backward(mul(x, 2), [x], g.input('s1', 'f32', ['k', 'm'])), 'E_GRAD',
        /^internal: gradient f32\[k, m\] does not match f32\[1, m\] \(unreduced broadcast\)$/,
        /^report this as a bug with the model code$/);
      const z = g.input('z', 'f32', ['n', 3]);
      expect(backward(mul(z, 2), [z], g.input('s4', 'f32', [2, 3]))[0].shape).toEqual([2, 3]);
      const u = g.input('u', 'f32', [1, 'n']);
      expect(backward(mul(u, 2), [u], g.input('s5', 'f32', [1, 3]))[0].shape).toEqual([1, 3]);
    });
  });
  it('only inputs that need a gradient get one, in a grad scope', () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [2]);
      const y = g.input('y', 'f32', [2]);
      const loss = withScope('head', () => reduceSum(mul(x, y)));
      const before = g.nodes.length;
      const [dx] = backward(loss, [x]);
      // The first node added is the seed (ones like the loss), outside any rule.
      const [seed, ...added] = g.nodes.slice(before);
      expect([seed.op, seed.scope]).toEqual(['fullLike', '']);
      expect(added.filter((n) => n.op === 'mul')).toHaveLength(1);
      expect(new Set(added.filter((n) => n.op !== 'const').map((n) => n.scope))).toEqual(new Set(['grad(head)']));
      const [dy] = backward(reduceSum(mul(x, y)), [y]);
      expect(g.nodes.slice(-3).some((n) => n.scope === 'grad')).toBe(true);
      return { dx, dy };
    });
    const out = runReference(graph, { x: refTensor([1, 2], [2]), y: refTensor([3, 4], [2]) });
    expect([...out.dx.data, ...out.dy.data]).toEqual([3, 4, 1, 2]);
  });
  it('stopGradient blocks the path; a loop that does not read wrt is no obstacle', () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [2]);
      const y = g.input('y', 'f32', [2]);
      const [dStop] = backward(reduceSum(mul(x, stopGradient(x))), [x]);
      const s = g.input('s', 'f32', []);
      const [dNone] = backward(stopGradient(s), [s]);
      const [l] = loop(2, [mul(y, 2)], (_i, a) => ({ carried: [add(a, 1)], scans: [] }));
      const [dLoop] = backward(reduceSum(mul(x, l)), [x]);
      return { dStop, dLoop, dNone };
    });
    const out = runReference(graph, { x: refTensor([1, 2], [2]), y: refTensor([3, 4], [2]), s: refTensor([7], []) });
    expect([...out.dNone.data]).toEqual([0]);
    expect([...out.dStop.data]).toEqual([1, 2]);
    expect([...out.dLoop.data]).toEqual([8, 10]);
  });
  it('a loop that reads wrt only through integers is no obstacle; through floats it is named', () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [2]);
      const y = g.input('y', 'f32', [2]);
      const k = cast(x, 'i64');
      const [l] = loop(2, [y], (_i, a) => ({ carried: [add(a, cast(k, 'f32'))], scans: [] }));
      const [dx] = backward(reduceSum(mul(x, l)), [x]);
      const [m] = withScope('enc', () => loop(2, [x], (_i, a) => ({ carried: [mul(a, 2)], scans: [] })));
      expectCode(() => backward(reduceSum(m), [x]), 'E_GRAD', /^enc: cannot differentiate through 'loop'$/,
        /^call backward inside the loop body, or feed the loop stopGradient\(x\) computed outside it$/);
      const [n] = loop(2, [x], (_i, a) => ({ carried: [mul(a, 2)], scans: [] }));
      expectCode(() => backward(reduceSum(n), [x]), 'E_GRAD', /^cannot differentiate through 'loop'$/);
      return { dx };
    });
    // l = y + 2 * trunc(x); d(sum(x * l))/dx = l, the integer path contributing nothing.
    const out = runReference(graph, { x: refTensor([1.5, 2.5], [2]), y: refTensor([3, 4], [2]) });
    expect([...out.dx.data]).toEqual([5, 8]);
  });
  it('no rule runs for a node whose inputs need no gradient', () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [2]);
      const w = g.input('w', 'f32', [3]);
      const picked = gather(w, cast(x, 'i64'));
      const [dx] = backward(reduceSum(mul(picked, x)), [x]);
      expect(g.nodes.map((n) => n.op)).not.toContain('scatterNDAdd');
      return { dx };
    });
    const out = runReference(graph, { x: refTensor([2, 0], [2]), w: refTensor([5, 6, 7], [3]) });
    expect([...out.dx.data]).toEqual([7, 5]);
  });
});
