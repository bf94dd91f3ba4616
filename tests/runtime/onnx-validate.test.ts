import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, encodeModel, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxValueInfo } from '../../src/runtime/onnx/proto.ts';
import { validateModel } from '../../src/runtime/onnx/validate.ts';
import { OPS, opVersionAt, parseFormals } from '../../src/runtime/onnx/opsets.ts';

const f32 = (name: string, shape: (number | string)[] | null = ['N', 4]): OnnxValueInfo => ({ name, dtype: 'float32', shape });
const i64 = (name: string, shape: (number | string)[] | null = ['N', 4]): OnnxValueInfo => ({ name, dtype: 'int64', shape });

/** A model with inputs x (float32 [N,4]) and idx (int64 [N,4]), initializer axes=[1], output y. */
function model(nodes: OnnxNode[], opset = 18, outputs: OnnxValueInfo[] = [f32('y')]): OnnxModel {
  return {
    opset,
    graph: {
      name: 'main',
      inputs: [f32('x'), i64('idx')],
      outputs,
      initializers: [{ name: 'axes', dtype: 'int64', dims: [1], data: new BigInt64Array([1n]) }],
      nodes,
    },
  };
}

function rejects(m: OnnxModel, ...fragments: (string | RegExp)[]): void {
  let err: unknown;
  try {
    validateModel(m);
  } catch (e) {
    err = e;
  }
  expect(err, 'expected validateModel to throw').toMatchObject({ code: 'E_ONNX_INVALID' });
  for (const f of fragments) expect((err as Error).message).toMatch(f);
}

function loopBody(nodes: OnnxNode[], extraOut: OnnxValueInfo[] = []): OnnxGraph {
  return {
    name: 'body',
    inputs: [{ name: 'it', dtype: 'int64', shape: [] }, { name: 'c', dtype: 'bool', shape: [] }, f32('acc_in')],
    outputs: [{ name: 'c_out', dtype: 'bool', shape: [] }, f32('acc_out'), ...extraOut],
    initializers: [],
    nodes: [{ opType: 'Identity', inputs: ['c'], outputs: ['c_out'] }, ...nodes],
  };
}

const K: OnnxNode = { opType: 'Constant', inputs: [], outputs: ['K'], attrs: { value: attr.tensor({ name: '', dtype: 'int64', dims: [], data: new BigInt64Array([3n]) }) } };

describe('validateModel accepts valid models', () => {
  it('accepts a training-step-like graph using many ops at opset 18 (and ORT runs it)', async () => {
    const nodes: OnnxNode[] = [
      { opType: 'MatMul', inputs: ['x', 'xt'], outputs: ['mm'] },
      { opType: 'ReduceMean', inputs: ['x', 'axes'], outputs: ['mean'], attrs: { keepdims: attr.int(1) } },
      { opType: 'ReduceSum', inputs: ['x', ''], outputs: ['sum'], attrs: { keepdims: attr.int(0), noop_with_empty_axes: attr.int(0) } },
      { opType: 'Sub', inputs: ['x', 'mean'], outputs: ['centered'] },
      { opType: 'LayerNormalization', inputs: ['centered', 'scale'], outputs: ['ln', '', ''], attrs: { axis: attr.int(-1), epsilon: attr.float(1e-5) } },
      { opType: 'TopK', inputs: ['ln', 'k'], outputs: ['topv', 'topi'], attrs: { axis: attr.int(-1) } },
      { opType: 'ScatterElements', inputs: ['x', 'idx', 'x'], outputs: ['scat'], attrs: { axis: attr.int(1), reduction: attr.string('max') } },
      { opType: 'Split', inputs: ['scat'], outputs: ['s0', 's1'], attrs: { axis: attr.int(1), num_outputs: attr.int(2) } },
      { opType: 'Concat', inputs: ['s1', 's0'], outputs: ['cat'], attrs: { axis: attr.int(1) } },
      { opType: 'Pad', inputs: ['cat', 'pads', '', 'axes'], outputs: ['padded'], attrs: { mode: attr.string('edge') } },
      { opType: 'Cast', inputs: ['topi'], outputs: ['topf'], attrs: { to: attr.int(1) } },
      { opType: 'Dropout', inputs: ['topv'], outputs: ['drop'] },
      { opType: 'Einsum', inputs: ['x', 'x'], outputs: ['ein'], attrs: { equation: attr.string('ij,ij->i') } },
      { opType: 'Softmax', inputs: ['ein'], outputs: ['sm'], attrs: { axis: attr.int(0) } },
      { opType: 'Transpose', inputs: ['padded'], outputs: ['y'], attrs: { perm: attr.ints([0, 1]) } },
    ];
    const m = model(nodes, 18, [f32('y', ['N', 5])]);
    m.graph.initializers.push(
      { name: 'xt', dtype: 'float32', dims: [4, 4], data: new Float32Array(16) },
      { name: 'scale', dtype: 'float32', dims: [4], data: new Float32Array(4) },
      { name: 'k', dtype: 'int64', dims: [1], data: new BigInt64Array([2n]) },
      { name: 'pads', dtype: 'int64', dims: [2], data: new BigInt64Array([0n, 1n]) },
    );
    expect(() => validateModel(m)).not.toThrow();
    // What the validator accepts, ORT loads and runs.
    const session = await ort.InferenceSession.create(encodeModel(m));
    const x = new ort.Tensor('float32', Float32Array.from({ length: 8 }, (_, i) => i), [2, 4]);
    const idx = new ort.Tensor('int64', new BigInt64Array([3n, 2n, 1n, 0n, 0n, 0n, 1n, 1n]), [2, 4]);
    const { y } = await session.run({ x, idx });
    expect(y.dims).toEqual([2, 5]);
    await session.release();
  });

  it('accepts a Loop whose body reads an outer-scope value, and an If', () => {
    const body = loopBody([{ opType: 'Add', inputs: ['acc_in', 'x'], outputs: ['acc_out'] }]);
    const cond: OnnxNode = { opType: 'Constant', inputs: [], outputs: ['flag'], attrs: { value_int: attr.int(1) } };
    const branch = (name: string, op: string): OnnxGraph => ({ name, inputs: [], outputs: [f32(`${name}_y`)], initializers: [], nodes: [{ opType: op, inputs: ['acc'], outputs: [`${name}_y`] }] });
    const m = model([
      K, cond,
      { opType: 'Cast', inputs: ['flag'], outputs: ['flag_b'], attrs: { to: attr.int(9) } },
      { opType: 'Loop', inputs: ['K', '', 'x'], outputs: ['acc'], attrs: { body: attr.graph(body) } },
      { opType: 'If', inputs: ['flag_b'], outputs: ['y'], attrs: { then_branch: attr.graph(branch('then', 'Neg')), else_branch: attr.graph(branch('else', 'Abs')) } },
    ]);
    expect(() => validateModel(m)).not.toThrow();
  });

  it('accepts ReduceMean with an axes attribute at opset 17 and Gelu at opset 20', () => {
    expect(() => validateModel(model([{ opType: 'ReduceMean', inputs: ['x'], outputs: ['y'], attrs: { axes: attr.ints([1]) } }], 17))).not.toThrow();
    expect(() => validateModel(model([{ opType: 'Gelu', inputs: ['x'], outputs: ['y'], attrs: { approximate: attr.string('tanh') } }], 20))).not.toThrow();
  });
});

describe('validateModel rejects invalid models', () => {
  it('rejects an undefined input, naming the node', () => {
    rejects(model([{ opType: 'Add', inputs: ['x', 'nope'], outputs: ['y'], name: 'add0' }]), "node #0 Add 'add0'", "input 1 'nope' is not defined");
  });

  it('rejects a double definition and redefining a graph input or initializer', () => {
    rejects(model([{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }, { opType: 'Neg', inputs: ['x'], outputs: ['y'] }]), 'node #1 Neg', "'y' is already defined by node #0 Relu");
    rejects(model([{ opType: 'Relu', inputs: ['x'], outputs: ['x'] }]), "'x' is already defined by graph input");
    rejects(model([{ opType: 'Relu', inputs: ['x'], outputs: ['axes'] }]), "'axes' is already defined by initializer");
  });

  it('rejects nodes out of topological order (which ORT silently accepts)', () => {
    rejects(model([{ opType: 'Relu', inputs: ['t'], outputs: ['y'] }, { opType: 'Neg', inputs: ['x'], outputs: ['t'] }]), 'node #0 Relu', 'not in topological order');
  });

  it('rejects ReduceMean with an axes attribute at opset 18, pointing at the axes input', () => {
    rejects(model([{ opType: 'ReduceMean', inputs: ['x'], outputs: ['y'], attrs: { axes: attr.ints([1]) } }], 18), "attribute 'axes' is not allowed for ReduceMean at opset 18");
    rejects(model([{ opType: 'ReduceSum', inputs: ['x'], outputs: ['y'], attrs: { axes: attr.ints([1]) } }], 17), "attribute 'axes' is not allowed for ReduceSum at opset 17");
    expect(() => validateModel(model([{ opType: 'ReduceMax', inputs: ['x'], outputs: ['y'], attrs: { axes: attr.ints([1]) } }], 18)))
      .toThrow(expect.objectContaining({ hint: expect.stringMatching(/ReduceMax-1 \(opsets 1\.\.17\) has attribute 'axes'.*'axes' is an input/) }));
  });

  it("rejects ScatterElements reduction='max' at opset 17 and accepts it at 18", () => {
    const node: OnnxNode = { opType: 'ScatterElements', inputs: ['x', 'idx', 'x'], outputs: ['y'], attrs: { reduction: attr.string('max') } };
    rejects(model([node], 17), "reduction='max' is not allowed for ScatterElements at opset 17");
    expect(() => validateModel(model([node], 18))).not.toThrow();
    rejects(model([{ ...node, attrs: { reduction: attr.string('sum') } }], 18), "reduction='sum'");
  });

  it('rejects an unknown op and an op newer than the opset', () => {
    rejects(model([{ opType: 'FancyOp', inputs: ['x'], outputs: ['y'] }]), "unknown operator 'FancyOp'");
    rejects(model([{ opType: 'Gelu', inputs: ['x'], outputs: ['y'] }], 18), 'Gelu needs opset >= 20');
  });

  it('rejects bad arity, empty required inputs, missing/ill-typed attributes', () => {
    rejects(model([{ opType: 'Add', inputs: ['x'], outputs: ['y'] }]), 'has 1 inputs, Add-7 takes 2');
    rejects(model([{ opType: 'Where', inputs: ['', 'x', 'x'], outputs: ['y'] }]), 'input 0 (condition) is required but empty');
    rejects(model([{ opType: 'Concat', inputs: ['x', 'x'], outputs: ['y'] }]), "required attribute 'axis' is missing");
    rejects(model([{ opType: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: attr.float(1) } }]), "'axis' must be int, got float");
    rejects(model([{ opType: 'Cast', inputs: ['x'], outputs: ['y'], attrs: { to: attr.int(1), saturate: attr.int(1) } }], 18), "'saturate' is not allowed");
    rejects(model([{ opType: 'Pad', inputs: ['x', 'axes'], outputs: ['y'], attrs: { mode: attr.string('wrap') } }], 18), "mode='wrap'");
  });

  it('rejects Split without num_outputs at opset 18 (valid at 17)', () => {
    const split: OnnxNode = { opType: 'Split', inputs: ['x'], outputs: ['y', 'z'], attrs: { axis: attr.int(1) } };
    const outs = [f32('y'), f32('z')];
    rejects(model([split], 18, outs), "needs the 'split' input or the 'num_outputs' attribute");
    expect(() => validateModel(model([split], 17, outs))).not.toThrow();
    rejects(model([{ ...split, attrs: { axis: attr.int(1), num_outputs: attr.int(3) } }], 18, outs), 'num_outputs=3 but the node has 2 outputs');
  });

  it('checks Loop bodies recursively: arity, scoping and shadowing', () => {
    const loop = (body: OnnxGraph, outs = ['y']): OnnxNode => ({ opType: 'Loop', inputs: ['K', '', 'x'], outputs: outs, attrs: { body: attr.graph(body) } });
    rejects(model([K, loop(loopBody([{ opType: 'Add', inputs: ['acc_in', 'ghost'], outputs: ['acc_out'] }]))]), "attribute 'body' > graph 'body' node #1 Add", "'ghost' is not defined");
    rejects(model([K, loop(loopBody([{ opType: 'Add', inputs: ['acc_in', 'acc_in'], outputs: ['x'] }]))]), "'x' is already defined by graph input in an enclosing graph");
    rejects(model([K, loop(loopBody([{ opType: 'Neg', inputs: ['acc_in'], outputs: ['acc_out'] }]), ['y', 'extra'])]), 'Loop body has 2 outputs, expected 1 + 2');
    rejects(model([K, loop(loopBody([{ opType: 'ReduceMean', inputs: ['acc_in'], outputs: ['acc_out'], attrs: { axes: attr.ints([0]) } }]))]), "graph 'body' node #1 ReduceMean", "'axes' is not allowed");
  });

  it('rejects undefined graph outputs, unshaped main outputs and inconsistent initializers', () => {
    rejects(model([{ opType: 'Relu', inputs: ['x'], outputs: ['t'] }]), "output 'y': no node, graph input or initializer produces it");
    rejects(model([{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }], 18, [f32('y', null)]), "output 'y'", 'has no shape');
    const m = model([{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }]);
    m.graph.initializers[0].dims = [3];
    rejects(m, "initializer 'axes'", 'need 3 elements');
    rejects({ ...model([]), opset: 16 }, 'opset 16 is outside');
  });
});

describe('opset table', () => {
  it('covers every op the project emits, with parseable formals', () => {
    const required = 'Add Sub Mul Div Pow Neg Exp Log Sqrt Tanh Sigmoid Relu Abs Erf Sin Cos Reciprocal Max Min Equal Less Greater LessOrEqual GreaterOrEqual Not And Or Where Cast MatMul Gemm ReduceSum ReduceMean ReduceMax ReduceMin ReduceProd ReduceSumSquare ArgMax Reshape Flatten Transpose Slice Concat Gather GatherElements GatherND ScatterElements ScatterND Expand Squeeze Unsqueeze Shape Size ConstantOfShape Constant Identity Softmax LogSoftmax LayerNormalization TopK OneHot CumSum Trilu Loop If Range Tile Pad Einsum NonZero Compress Clip Floor Ceil Round Sign IsNaN IsInf Dropout RandomUniformLike RandomNormalLike Sum Mean Split';
    for (const op of required.split(' ')) {
      expect(opVersionAt(op, 18), op).toBeDefined();
      const versions = OPS[op];
      for (let i = 1; i < versions.length; i++) expect(versions[i].since, op).toBeGreaterThan(versions[i - 1].since);
    }
    expect(parseFormals('M? cond? v_initial*')).toMatchObject({ min: 2, max: Infinity });
    expect(parseFormals('X Scale B?')).toMatchObject({ min: 2, max: 3 });
    expect(parseFormals('inputs+')).toMatchObject({ min: 1, max: Infinity });
  });
});
