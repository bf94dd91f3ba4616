/**
 * Parameters' defaults (trainable; decay for matrices only), buffers in the parameter count, a parameter used
 * before naming, one graph input per parameter, and the forward extras: losses and metrics under the module path,
 * buffer updates, nothing recorded (and nothing thrown) when nobody collects, the collector popped after a throw.
 */
import { describe, expect, it } from 'vitest';
import { type Tensor, trace, withScope } from '../../src/core/graph.ts';
import { add } from '../../src/core/ops/index.ts';
import { addAuxLoss, addMetric, collectExtras, setBufferUpdate } from '../../src/nn/extras.ts';
import { ones, zeros } from '../../src/nn/init.ts';
import { Linear } from '../../src/nn/layers.ts';
import { Module, Parameter, Sequential } from '../../src/nn/module.ts';
import { expectCode } from '../expect-error.ts';

class WithBuffer extends Module {
  fc = new Linear(3, 2);
  stats = new Parameter([5], zeros, { trainable: false });
  forward(x: Tensor): Tensor {
    return this.fc.call(x);
  }
}

describe('parameters', () => {
  it('are trainable by default; weight decay defaults to matrices (rank >= 2) and can be set', () => {
    const vec = new Parameter([4], ones);
    const mat = new Parameter([2, 3], ones);
    expect([vec.trainable, vec.decay, mat.trainable, mat.decay]).toEqual([true, false, true, true]);
    expect(new Parameter([2, 3], ones, { decay: false }).decay).toBe(false);
    expect(new Parameter([4], ones, { decay: true }).decay).toBe(true);
    expect(new Parameter([2, 3, 4], ones).data.length).toBe(24);
  });

  it('parameterCount counts trainable values unless asked for all; buffers keep their values through init', () => {
    const m = new WithBuffer().init(1);
    expect(m.parameterCount()).toBe(3 * 2 + 2);
    expect(m.parameterCount(true)).toBe(3 * 2 + 2 + 5);
    expect(Array.from(m.stats.data)).toEqual([0, 0, 0, 0, 0]);
  });

  it('a parameter used before its module tree is named is E_MODULE with a hint', () => {
    const lin = new Linear(2, 2);
    expectCode(() => trace((g) => lin.forward(g.input('x', 'f32', [1, 2]))), 'E_MODULE', /before its module tree was named/, /model\.named\(\)/);
  });

  it('is one graph input however often it is used, named by its state_dict name', () => {
    const seq = new Sequential(new Linear(2, 2), new Linear(2, 2)).named();
    const lin = seq.layers[0] as Linear;
    const g = trace((gr) => add(lin.call(gr.input('x', 'f32', [1, 2])), lin.call(gr.input('y', 'f32', [1, 2]))));
    expect(g.inputs.map((t) => t.name).sort()).toEqual(['0.bias', '0.weight', 'x', 'y']);
  });
});

describe('forward extras', () => {
  it('collect losses and metrics under the module path, and buffer updates', () => {
    const p = new Parameter([1], zeros);
    let loss: Tensor | undefined;
    const { extras } = collectExtras(() => trace((g) => {
      loss = g.input('l', 'f32', []);
      addAuxLoss('aux_loss', loss);
      withScope('blocks', () => withScope('0', () => withScope('moe', () => addMetric('tokens', loss!))));
      setBufferUpdate(p, loss);
      return loss;
    }));
    expect(extras.losses.map((l) => l.name)).toEqual(['aux_loss']);
    expect(extras.losses[0].value).toBe(loss);
    expect(Object.keys(extras.metrics)).toEqual(['blocks.0.moe.tokens']);
    expect(extras.updates.get(p)).toBe(loss);
  });

  it('are dropped without a collector, go to the innermost one, and the collector is gone after a throw', () => {
    const p = new Parameter([1], zeros);
    trace((g) => {
      const x = g.input('x', 'f32', []);
      expect(() => {
        addAuxLoss('a', x);
        addMetric('m', x);
        setBufferUpdate(p, x);
      }).not.toThrow();
      const outer = collectExtras(() => {
        const inner = collectExtras(() => addMetric('inner', x)).extras;
        expect(Object.keys(inner.metrics)).toEqual(['inner']);
        expect(() => collectExtras(() => {
          throw new Error('boom');
        })).toThrow('boom');
        addMetric('outer', x);
      }).extras;
      expect(Object.keys(outer.metrics)).toEqual(['outer']);
      return x;
    });
  });
});
