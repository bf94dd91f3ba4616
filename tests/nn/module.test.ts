import { describe, expect, it } from 'vitest';
import { type Tensor, trace } from '../../src/core/graph.ts';
import { relu } from '../../src/core/ops/index.ts';
import { Act, Dropout, Embedding, LayerNorm, Linear, MLP } from '../../src/nn/layers.ts';
import { Module, Sequential } from '../../src/nn/module.ts';
import { expectSwitchyardError } from '../train/helpers.ts';

class Block extends Module {
  ln = new LayerNorm(8);
  fc1 = new Linear(8, 16);
  fc2 = new Linear(16, 8);
  forward(x: Tensor): Tensor {
    return this.fc2.call(relu(this.fc1.call(this.ln.call(x))));
  }
}

class Net extends Module {
  embed = new Embedding(10, 8);
  blocks = [new Block(), new Block()];
  head = new Linear(8, 3, { bias: false });
  forward(ids: Tensor): Tensor {
    let h = this.embed.call(ids);
    for (const b of this.blocks) h = b.call(h);
    return this.head.call(h);
  }
}

/** A user module whose second layer is miswired (fc1 gives 8 features, fc2 expects 6). */
class Miswired extends Module {
  fc1 = new Linear(4, 8);
  fc2 = new Linear(6, 3);
  forward(x: Tensor): Tensor {
    return this.fc2.call(relu(this.fc1.call(x)));
  }
}

class Outer extends Module {
  body = new Miswired();
  forward(x: Tensor): Tensor {
    return this.body.call(x);
  }
}

const names = (m: Module) => m.named().namedParameters().map(([n]) => n);

describe('state_dict names follow PyTorch', () => {
  it('MLP layers are an array of modules: layers.<i>.weight / bias', () => {
    expect(names(new MLP([4, 8, 3]))).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
  });

  it('nested modules and arrays of modules, in assignment order; bias-free Linear has no bias', () => {
    const net = new Net();
    const expected = ['embed.weight'];
    for (const i of [0, 1]) expected.push(...['ln.weight', 'ln.bias', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'].map((s) => `blocks.${i}.${s}`));
    expected.push('head.weight');
    expect(names(net)).toEqual(expected);
    expect([...net.stateDict().keys()]).toEqual(expected);
    // Parameter objects carry their names after named(); sub-modules their local names.
    expect(net.blocks[1].fc2.weight.name).toBe('blocks.1.fc2.weight');
    expect(net.blocks[1].localName).toBe('blocks.1');
    expect(net.blocks[1].fc2.localName).toBe('fc2');
    // shapes follow PyTorch's Linear layout [out, in]
    const sd = net.stateDict();
    expect(sd.get('blocks.0.fc1.weight')!.shape).toEqual([16, 8]);
    expect(sd.get('blocks.0.fc1.bias')!.shape).toEqual([16]);
    expect(sd.get('embed.weight')!.shape).toEqual([10, 8]);
  });

  it('Sequential numbers its children, skipping parameter-free ones (like nn.Sequential)', () => {
    const seq = new Sequential(new Linear(4, 8), new Act('relu'), new Linear(8, 2));
    expect(names(seq)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('parameterCount counts all values; decay defaults exclude biases and norm gains', () => {
    const net = new Net();
    expect(net.parameterCount()).toBe(10 * 8 + 2 * (8 + 8 + 16 * 8 + 16 + 8 * 16 + 8) + 3 * 8);
    const decay = Object.fromEntries(net.named().namedParameters().map(([n, p]) => [n, p.decay]));
    expect(decay['blocks.0.fc1.weight']).toBe(true);
    expect(decay['blocks.0.fc1.bias']).toBe(false);
    expect(decay['blocks.0.ln.weight']).toBe(false);
    expect(decay['embed.weight']).toBe(true);
  });
});

describe('init', () => {
  const flat = (m: Module) => m.named().namedParameters().flatMap(([, p]) => [...p.data]);

  it('is deterministic for a seed and differs across seeds', () => {
    const a = flat(new Net().init(7));
    const b = flat(new Net().init(7));
    const c = flat(new Net().init(8));
    expect(a).toEqual(b);
    expect(a.length).toBe(c.length);
    const differing = a.filter((v, i) => v !== c[i]).length;
    // everything random differs (LayerNorm gains/biases are constant 1/0 and do not)
    expect(differing).toBeGreaterThan(a.length - 2 * 16 - 5);
    // re-initialising the same model with the same seed restores the same values
    const m = new Net().init(7);
    m.init(9);
    expect(flat(m.init(7))).toEqual(a);
  });

  it('Linear weights and biases are U(-1/sqrt(in), 1/sqrt(in)), filling the range', () => {
    const lin = new Linear(50, 40).named().init(3);
    const bound = 1 / Math.sqrt(50);
    for (const p of [lin.weight, lin.bias!]) {
      const abs = [...p.data].map(Math.abs);
      expect(Math.max(...abs)).toBeLessThanOrEqual(bound);
      expect(Math.max(...abs)).toBeGreaterThan(0.9 * bound);
    }
    const w = [...lin.weight.data];
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
    // U(-b, b) has variance b^2/3; 2000 samples pin it within ~10%
    expect(Math.abs(mean)).toBeLessThan(0.1 * bound);
    expect(variance / (bound * bound / 3)).toBeGreaterThan(0.85);
    expect(variance / (bound * bound / 3)).toBeLessThan(1.15);
    // different parameters are not the same stream
    expect([...lin.bias!.data]).not.toEqual(w.slice(0, 40));
  });

  it('LayerNorm starts at gain 1, bias 0', () => {
    const ln = new LayerNorm(5).init(1);
    expect([...ln.weight.data]).toEqual([1, 1, 1, 1, 1]);
    expect([...ln.bias.data]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('loadStateDict', () => {
  it('round-trips and copies the data', () => {
    const a = new MLP([4, 8, 3]).init(1);
    const b = new MLP([4, 8, 3]).init(2);
    const sd = a.stateDict();
    b.loadStateDict(sd);
    for (const [n, t] of b.stateDict()) expect([...t.data], n).toEqual([...sd.get(n)!.data]);
    const before = b.stateDict().get('layers.0.weight')!.data[0];
    sd.get('layers.0.weight')!.data[0] += 1;
    expect(b.stateDict().get('layers.0.weight')!.data[0]).toBe(before);
  });

  it('rejects a missing parameter with E_CHECKPOINT naming it', async () => {
    const sd = new MLP([4, 8, 3]).init(1).stateDict();
    sd.delete('layers.1.bias');
    await expectSwitchyardError(() => new MLP([4, 8, 3]).loadStateDict(sd, 'ckpt.safetensors'), 'E_CHECKPOINT', /ckpt\.safetensors.*layers\.1\.bias/);
  });

  it('rejects an extra parameter (another model\'s checkpoint) and changes nothing', async () => {
    const sd = new MLP([4, 8, 3]).init(1).stateDict();
    sd.set('head.weight', { shape: [3, 3], data: new Float32Array(9) });
    const m = new MLP([4, 8, 3]).init(5);
    const before = [...m.layers[0].weight.data];
    await expectSwitchyardError(() => m.loadStateDict(sd, 'ckpt.safetensors'), 'E_CHECKPOINT', /ckpt\.safetensors.*unexpected parameter 'head\.weight'/);
    expect([...m.layers[0].weight.data]).toEqual(before);
  });

  it('checks every parameter before assigning any: a bad last one leaves the first untouched', async () => {
    const sd = new MLP([4, 8, 3]).init(1).stateDict();
    sd.set('layers.1.bias', { shape: [4], data: new Float32Array(4) });
    const m = new MLP([4, 8, 3]).init(5);
    const before = [...m.layers[0].weight.data];
    await expectSwitchyardError(() => m.loadStateDict(sd), 'E_CHECKPOINT', /layers\.1\.bias/);
    expect([...m.layers[0].weight.data]).toEqual(before);
  });

  it('rejects a wrong shape with E_CHECKPOINT naming the parameter and both shapes', async () => {
    const sd = new MLP([4, 9, 3]).init(1).stateDict();
    const m = new MLP([4, 8, 3]).init(5);
    const before = [...m.layers[0].weight.data];
    const e = await expectSwitchyardError(() => m.loadStateDict(sd), 'E_CHECKPOINT', /layers\.0\.weight/);
    expect(e.message).toMatch(/\[9,4\]/);
    expect(e.message).toMatch(/\[8,4\]/);
    expect([...m.layers[0].weight.data]).toEqual(before);
    // same element count but a different rank is also a shape mismatch
    const flat = new MLP([4, 8, 3]).init(1).stateDict();
    flat.set('layers.0.bias', { shape: [1, 8], data: new Float32Array(8) });
    await expectSwitchyardError(() => m.loadStateDict(flat), 'E_CHECKPOINT', /layers\.0\.bias/);
  });
});

describe('shape errors name the module path', () => {
  it('a user module fed through a miswired layer throws E_SHAPE naming fc2', async () => {
    const net = new Miswired().named();
    const e = await expectSwitchyardError(() => trace((g) => net.call(g.input('x', 'f32', ['batch', 4]))), 'E_SHAPE', /fc2/);
    expect(e.message).not.toMatch(/fc1/);
    expect(e.message).toMatch(/8 features/);
    expect(e.hint).not.toBe('');
  });

  it('the wrong input feature count is reported at the first layer', async () => {
    const net = new Miswired().named();
    await expectSwitchyardError(() => trace((g) => net.call(g.input('x', 'f32', ['batch', 5]))), 'E_SHAPE', /fc1.*5 features.*expects 4/);
  });

  it('a nested module reports its full path (body.fc2)', async () => {
    const net = new Outer().named();
    await expectSwitchyardError(() => trace((g) => net.call(g.input('x', 'f32', ['batch', 4]))), 'E_SHAPE', /body\.fc2/);
  });

  it('the error does not leave a module scope behind', async () => {
    const net = new Miswired().named();
    await expectSwitchyardError(() => trace((g) => net.call(g.input('x', 'f32', ['batch', 4]))), 'E_SHAPE');
    const ok = new MLP([3, 2]).named();
    const e = await expectSwitchyardError(() => trace((g) => ok.call(g.input('x', 'f32', ['batch', 7]))), 'E_SHAPE');
    expect(e.message).toMatch(/^layers\.0: /);
  });
});

describe('config validation', () => {
  it('Dropout rejects p outside [0, 1)', async () => {
    await expectSwitchyardError(() => new Dropout(1), 'E_CONFIG', /1/);
    await expectSwitchyardError(() => new Dropout(-0.1), 'E_CONFIG');
    await expectSwitchyardError(() => new Dropout(Number.NaN), 'E_CONFIG');
    expect(new Dropout(0).p).toBe(0);
    expect(new Dropout(0.5).p).toBe(0.5);
  });

  it('MLP needs input and output sizes; unknown activations are rejected', async () => {
    await expectSwitchyardError(() => new MLP([4]), 'E_CONFIG');
    await expectSwitchyardError(() => new MLP([4, 2], { activation: 'tanh' as never }), 'E_CONFIG', /tanh/);
  });
});
