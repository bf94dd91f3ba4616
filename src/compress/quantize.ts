/**
 * Post-training int8 quantization of an ONNX inference graph (an export, or any ONNX model in the subset
 * Switchyard reads), as a rewrite of the graph with standard ONNX operators only:
 *
 * - `dynamic`: each MatMul whose right operand is a constant matrix runs in int8. The weights are stored as
 *   int8 with one symmetric scale per output column; the activations are quantized per call
 *   (DynamicQuantizeLinear, uint8), multiplied with MatMulInteger and scaled back to float. ONNX Runtime fuses
 *   this pattern into one int8 GEMM, 2-3x faster than float32 for large matrices on CPUs with VNNI; for small
 *   ones the quantization of the activations costs more than it saves (see `minElements`).
 *   These weights are 7-bit by default (codes in [-63, 63], `weightBits`): x86 CPUs without VNNI add each pair
 *   of u8*s8 products into int16 with saturation, and 255*63*2 = 32130 never reaches 32767, so the int32 result
 *   is exact, and the same, on every CPU. Full-range 8-bit weights (255*127*2 = 64770) are exact only with VNNI:
 *   the model then records `needsVnni` and loaders refuse it on a CPU without (runtime/int8-cpu.ts).
 * - `weights`: weights stored as int8 and turned back into float32 constants when the session loads (Cast and
 *   Mul of constants, which ONNX Runtime folds); the file is about 4x smaller and the arithmetic is float32.
 *
 * Constant embedding tables read with Gather (axis 0) are stored int8 with one scale per row in both modes, and
 * so is any other float matrix or stack of matrices (e.g. Mixture-of-Experts weights [E, out, in], one scale per
 * output channel). Weights stored transposed (`Transpose` of an initializer, the PyTorch [out, in] layout of
 * Switchyard's exports) are folded. Vectors (biases, norms) and tensors under `minElements` stay float32, and
 * the report says why.
 *
 * @module
 */
import { attr, elementCount, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from '../runtime/onnx/proto.ts';
import { validateModel } from '../runtime/onnx/validate.ts';
import { SwitchyardError } from '../util/errors.ts';

/** How {@link quantizeModel} quantizes: see the module documentation. */
export type QuantizeMode = 'dynamic' | 'weights';

/** Options for {@link quantizeModel}. */
export interface QuantizeOptions {
  /** Default `'dynamic'`. */
  mode?: QuantizeMode;
  /** Matrices and tables with fewer elements stay float32 (default 1024). */
  minElements?: number;
  /**
   * Bits of the weights of int8 matmuls (dynamic mode): 7 (default; codes in [-63, 63], exact on every CPU) or
   * 8 (codes in [-127, 127]; half the rounding error, but exact only on x86 CPUs with VNNI, recorded as
   * `needsVnni`). Weights with float32 arithmetic (weights mode, tables, stored tensors) always use 8 bits.
   */
  weightBits?: 7 | 8;
}

/** The int8-arithmetic fields of a model's `switchyard.quantization` metadata. */
export interface Int8MatmulRecord {
  /** Bits of the MatMulInteger weights (7 or 8); 8 in weights mode, where the arithmetic is float32. */
  matmulWeightBits: 7 | 8;
  /** True when the int8 matmuls are exact only on CPUs with VNNI (see runtime/int8-cpu.ts). */
  needsVnni: boolean;
}

/** One quantized weight. */
export interface QuantizedTensor {
  /** Initializer name in the source model. */
  name: string;
  /** Shape as stored in the source model. */
  shape: number[];
  /**
   * `matmul`: int8 arithmetic (dynamic mode); `matmul-weights`, `gather`, `stored`: int8 storage, float32
   * arithmetic (a MatMul operand, an embedding table, any other matrix or stack of matrices).
   */
  use: 'matmul' | 'matmul-weights' | 'gather' | 'stored';
  /** Largest |w - dequantized w| over the tensor (at most half a step of its scale). */
  maxAbsError: number;
  /** Root-mean-square error relative to the tensor's root-mean-square value. */
  relativeRmsError: number;
}

/** What {@link quantizeModel} did. */
export interface QuantizeReport extends Int8MatmulRecord {
  mode: QuantizeMode;
  quantized: QuantizedTensor[];
  /** Float initializers left as they were, with the reason. */
  kept: { name: string; elements: number; reason: string }[];
  /** Bytes of initializer data before and after. */
  weightBytesBefore: number;
  weightBytesAfter: number;
}

/**
 * Symmetric int8 codes of `w` viewed as [rows, cols], one scale per column (`axis` 1) or per row (`axis` 0),
 * in [-maxCode, maxCode] (127 for 8 bits, 63 for 7).
 *
 * @example
 * const { q, scale } = quantizeSymmetric(w, 64, 48, 1, 63); // 7-bit codes, one scale per column
 */
export function quantizeSymmetric(
  w: Float32Array,
  rows: number,
  cols: number,
  axis: 0 | 1,
  maxCode = 127,
): { q: Int8Array; scale: Float32Array; maxAbsError: number; relativeRmsError: number } {
  const groups = axis === 1 ? cols : rows;
  const scale = new Float32Array(groups);
  const at = (g: number, i: number) => (axis === 1 ? i * cols + g : g * cols + i);
  const len = axis === 1 ? rows : cols;
  for (let g = 0; g < groups; g++) {
    let m = 0;
    for (let i = 0; i < len; i++) m = Math.max(m, Math.abs(w[at(g, i)]));
    scale[g] = m > 0 ? m / maxCode : 1;
  }
  const q = new Int8Array(w.length);
  let maxAbsError = 0;
  let se = 0;
  let ss = 0;
  for (let g = 0; g < groups; g++) {
    const s = scale[g];
    for (let i = 0; i < len; i++) {
      const k = at(g, i);
      const c = Math.max(-maxCode, Math.min(maxCode, Math.round(w[k] / s)));
      q[k] = c;
      const err = Math.abs(w[k] - c * s);
      maxAbsError = Math.max(maxAbsError, err);
      se += err * err;
      ss += w[k] * w[k];
    }
  }
  return { q, scale, maxAbsError, relativeRmsError: ss > 0 ? Math.sqrt(se / ss) : 0 };
}

/** Names every node of `g` and its subgraphs reads, plus the graph outputs. */
function usedNames(g: OnnxGraph, into = new Set<string>()): Set<string> {
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i) into.add(i);
    for (const a of Object.values(n.attrs ?? {})) if (a.kind === 'graph') usedNames(a.value, into);
  }
  for (const o of g.outputs) into.add(o.name);
  return into;
}

/** Drops nodes whose outputs nothing reads and initializers nothing reads (repeatedly). */
function prune(g: OnnxGraph): void {
  for (;;) {
    const used = usedNames(g);
    const nodes = g.nodes.filter((n) => n.outputs.some((o) => o && used.has(o)));
    if (nodes.length === g.nodes.length) break;
    g.nodes = nodes;
  }
  const used = usedNames(g);
  g.initializers = g.initializers.filter((t) => used.has(t.name));
}

/** A 2-D float32 constant as the [K, N] right operand of a MatMul: an initializer, or a Transpose of one. */
interface ConstMatrix { source: OnnxTensor; transposed: boolean; k: number; n: number }

function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
  return t;
}

function allFinite(t: OnnxTensor): boolean {
  for (const v of t.data as Float32Array) if (!Number.isFinite(v)) return false;
  return true;
}

function tensorBytes(ts: OnnxTensor[]): number {
  return ts.reduce((s, t) => s + t.data.byteLength, 0);
}

/**
 * Quantizes the constant weights of `model` to int8 (see the module documentation for the two modes) and
 * returns a new, validated model with the same inputs, outputs and metadata (plus `switchyard.quantization`).
 * The source model is not modified.
 *
 * @example
 * const { model, report } = quantizeModel(decodeModel(bytes), { mode: 'dynamic' });
 * console.log(report.weightBytesBefore, '->', report.weightBytesAfter);
 */
export function quantizeModel(source: OnnxModel, opts: QuantizeOptions = {}): { model: OnnxModel; report: QuantizeReport } {
  const mode = opts.mode ?? 'dynamic';
  if (mode !== 'dynamic' && mode !== 'weights') throw new SwitchyardError('E_USAGE', `unknown quantization mode '${mode}'`, "use 'dynamic' or 'weights'");
  const minElements = opts.minElements ?? 1024;
  const weightBits = opts.weightBits ?? (mode === 'dynamic' ? 7 : 8);
  if (weightBits !== 7 && weightBits !== 8) {
    const hint = '7 (the default) runs exactly on every CPU; 8 needs VNNI';
    throw new SwitchyardError('E_USAGE', `weight bits ${weightBits} is not 7 or 8`, hint);
  }
  if (mode === 'weights' && weightBits !== 8) {
    const what = 'weight bits 7 applies to int8 matmuls (--mode dynamic); weights mode computes in float32';
    throw new SwitchyardError('E_USAGE', what, 'leave --weight-bits out with --mode weights');
  }
  if (source.opset < 13) throw new SwitchyardError('E_MODEL_INPUT', `the model imports opset ${source.opset}; per-channel int8 needs opset 13 or later`, 'export the model again with a current exporter (Switchyard writes opset 18)');
  if (source.metadata?.['switchyard.quantization']) throw new SwitchyardError('E_MODEL_INPUT', 'the model is already quantized', 'quantize the float32 model');
  try {
    validateModel(source);
  } catch (e) {
    throw new SwitchyardError('E_MODEL_INPUT', `the model does not pass Switchyard's ONNX check: ${(e as Error).message}`, 'compress takes Switchyard exports and ONNX models made of the operators Switchyard writes (opset 17-21)');
  }
  const g: OnnxGraph = { ...source.graph, nodes: [...source.graph.nodes], initializers: [...source.graph.initializers] };
  const inputNames = new Set(g.inputs.map((i) => i.name));
  // An initializer that is also a graph input is a default the caller may override (IR < 4 style): not a constant.
  const inits = new Map(g.initializers.filter((t) => !inputNames.has(t.name)).map((t) => [t.name, t]));
  const producer = new Map<string, OnnxNode>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);

  const constMatrix = (name: string): ConstMatrix | null => {
    const direct = inits.get(name);
    if (direct) return direct.dtype === 'float32' && direct.dims.length === 2 && allFinite(direct) ? { source: direct, transposed: false, k: direct.dims[0], n: direct.dims[1] } : null;
    const p = producer.get(name);
    if (!p || p.opType !== 'Transpose' || (p.domain ?? '') !== '') return null;
    const t = inits.get(p.inputs[0]);
    const perm = p.attrs?.perm?.kind === 'ints' ? p.attrs.perm.value : [1, 0];
    if (!t || t.dtype !== 'float32' || t.dims.length !== 2 || perm[0] !== 1 || perm[1] !== 0 || !allFinite(t)) return null;
    return { source: t, transposed: true, k: t.dims[1], n: t.dims[0] };
  };

  const quantized: QuantizedTensor[] = [];
  const added: OnnxTensor[] = [];
  const reasons = new Map<string, string>();
  const taken = new Set([...g.initializers.map((t) => t.name), ...producer.keys(), ...inputNames]);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  /** int8 codes and scales of one weight in one layout; the float copy and zero point are made when first needed. */
  interface Stored { base: string; q: string; scale: string; groups: number; float?: string; zero?: string }
  const stores = new Map<string, Stored>();
  const prelude: OnnxNode[] = []; // nodes that read only initializers: first in the graph
  /**
   * Stores `w` as int8 with `dims`, viewed as [rows, cols]: one scale per column (`axis` 1, scale dims [cols]) or
   * per row (`axis` 0, scale dims [...dims[:-1], 1]); once per `key`.
   */
  const store = (key: string, base: string, w: Float32Array, dims: number[], axis: 0 | 1, record: Omit<QuantizedTensor, 'maxAbsError' | 'relativeRmsError'>): Stored => {
    const hit = stores.get(key);
    if (hit) return hit;
    const cols = dims[dims.length - 1];
    const rows = w.length / cols;
    // Only int8 arithmetic (MatMulInteger) has the saturating pair-add: float-arithmetic weights keep 8 bits.
    const r = quantizeSymmetric(w, rows, cols, axis, record.use === 'matmul' ? 2 ** (weightBits - 1) - 1 : 127);
    const st: Stored = { base, q: fresh(`${base}_int8`), scale: fresh(`${base}_scale`), groups: axis === 1 ? cols : rows };
    added.push({ name: st.q, dtype: 'int8', dims: [...dims], data: r.q }, { name: st.scale, dtype: 'float32', dims: axis === 1 ? [cols] : [...dims.slice(0, -1), 1], data: r.scale });
    quantized.push({ ...record, maxAbsError: r.maxAbsError, relativeRmsError: r.relativeRmsError });
    stores.set(key, st);
    return st;
  };
  /**
   * The float32 value of stored codes as Cast + Mul of constants, which ONNX Runtime folds into one constant when
   * the session loads. (It does not fold DequantizeLinear, keeping it for int8 kernel fusion, and would then
   * dequantize on every call: measured 2x slower at batch 256, 20x at batch 1.)
   */
  const floatOf = (st: Stored, name?: string): string => {
    if (!st.float) {
      const f = fresh(`${st.base}_cast`);
      st.float = name ?? fresh(`${st.base}_dequantized`);
      prelude.push({ opType: 'Cast', inputs: [st.q], outputs: [f], attrs: { to: attr.int(1) } }, { opType: 'Mul', inputs: [f, st.scale], outputs: [st.float] });
    }
    return st.float;
  };
  const zeroOf = (st: Stored): string => {
    if (!st.zero) {
      st.zero = fresh(`${st.base}_zero_point`);
      added.push({ name: st.zero, dtype: 'int8', dims: [st.groups], data: new Int8Array(st.groups) });
    }
    return st.zero;
  };

  const out: OnnxNode[] = [];
  for (const n of g.nodes) {
    const isDefault = (n.domain ?? '') === '';
    if (isDefault && n.opType === 'MatMul') {
      const m = constMatrix(n.inputs[1]);
      if (m && m.k * m.n >= minElements) {
        const w = m.transposed ? transpose2d(m.source.data as Float32Array, m.n, m.k) : (m.source.data as Float32Array);
        const use = mode === 'dynamic' ? 'matmul' : 'matmul-weights';
        const st = store(`${m.source.name}|${m.transposed}`, m.source.name + (m.transposed ? '_t' : ''), w, [m.k, m.n], 1, { name: m.source.name, shape: [...m.source.dims], use });
        const y = n.outputs[0];
        if (mode === 'weights') out.push({ ...n, inputs: [n.inputs[0], floatOf(st)] });
        else {
          // One DynamicQuantizeLinear per MatMul even when two read the same activation, so that each matches
          // ONNX Runtime's fused int8 pattern on its own (with a shared one, a test graph kept a MatMul unfused).
          const a = [fresh(`${y}_in_uint8`), fresh(`${y}_in_scale`), fresh(`${y}_in_zero_point`)];
          out.push({ opType: 'DynamicQuantizeLinear', inputs: [n.inputs[0]], outputs: a });
          const [yi, yf, sc] = [fresh(`${y}_int32`), fresh(`${y}_float`), fresh(`${y}_scale`)];
          out.push({ opType: 'MatMulInteger', inputs: [a[0], st.q, a[2], zeroOf(st)], outputs: [yi] });
          out.push({ opType: 'Cast', inputs: [yi], outputs: [yf], attrs: { to: attr.int(1) } });
          out.push({ opType: 'Mul', inputs: [a[1], st.scale], outputs: [sc] });
          out.push({ opType: 'Mul', inputs: [yf, sc], outputs: [y], ...(n.name ? { name: n.name } : {}) });
        }
        continue;
      }
      if (m) reasons.set(m.source.name, `smaller than ${minElements} elements`);
    }
    if (isDefault && n.opType === 'Gather') {
      const t = inits.get(n.inputs[0]);
      const axis = n.attrs?.axis?.kind === 'int' ? n.attrs.axis.value : 0;
      if (t && t.dtype === 'float32' && t.dims.length === 2 && axis === 0 && allFinite(t)) {
        if (elementCount(t.dims) >= minElements) {
          const st = store(`${t.name}|rows`, t.name, t.data as Float32Array, t.dims, 0, { name: t.name, shape: [...t.dims], use: 'gather' });
          out.push({ ...n, inputs: [floatOf(st), ...n.inputs.slice(1)] });
          continue;
        }
        reasons.set(t.name, `smaller than ${minElements} elements`);
      }
    }
    out.push(n);
  }
  g.nodes = [...prelude, ...out];
  const firstPrelude = prelude.length;
  const firstPass = new Set(added);
  g.initializers = [...g.initializers, ...added];
  prune(g);
  // Other float matrices and stacks of matrices (e.g. MoE experts [E, out, in]) still read as they are: stored
  // int8 with one scale per row of the last axis, i.e. per output channel in the [out, in] layout.
  const replaced = new Set<OnnxTensor>();
  for (const t of g.initializers) {
    if (firstPass.has(t) || t.dtype !== 'float32' || t.dims.length < 2) continue;
    const why = t.data.length < minElements ? `smaller than ${minElements} elements` : inputNames.has(t.name) ? 'also a graph input (a default the caller may override)' : !allFinite(t) ? 'holds non-finite values' : null;
    if (why) {
      if (!reasons.has(t.name)) reasons.set(t.name, why);
      continue;
    }
    replaced.add(t);
    floatOf(store(`${t.name}|stored`, t.name, t.data as Float32Array, t.dims, 0, { name: t.name, shape: [...t.dims], use: 'stored' }), t.name);
  }
  g.initializers = [...g.initializers.filter((t) => !replaced.has(t)), ...added.filter((t) => !firstPass.has(t))];
  g.nodes = [...prelude.slice(firstPrelude), ...g.nodes];
  const left = new Set(g.initializers.map((t) => t.name));
  const kept = source.graph.initializers
    .filter((t) => left.has(t.name) && (t.dtype === 'float32' || t.dtype === 'float64'))
    .map((t) => ({
      name: t.name,
      elements: t.data.length,
      reason: reasons.get(t.name) ?? (t.dims.length < 2 ? 'a vector or scalar (biases and norm scales stay float32)' : 'also read by an operator that needs it as it is'),
    }));
  const int8: Int8MatmulRecord = { matmulWeightBits: weightBits, needsVnni: mode === 'dynamic' && weightBits === 8 };
  const weightBytesBefore = tensorBytes(source.graph.initializers);
  const weightBytesAfter = tensorBytes(g.initializers);
  const report: QuantizeReport = { mode, ...int8, quantized, kept, weightBytesBefore, weightBytesAfter };
  if (!quantized.length) {
    const biggest = [...kept].sort((a, b) => b.elements - a.elements)[0];
    throw new SwitchyardError('E_NOTHING_TO_QUANTIZE', `no weight to quantize: no MatMul right operand or embedding table of at least ${minElements} float32 elements${biggest ? ` (largest float initializer '${biggest.name}': ${biggest.elements} elements, ${biggest.reason})` : ''}`, 'lower --min-elements, or quantize a model whose weights are graph initializers');
  }
  const record = { mode, ...int8, tensors: quantized.length, weightBytesBefore, weightBytesAfter };
  const metadata = { ...(source.metadata ?? {}), 'switchyard.quantization': JSON.stringify(record) };
  const model: OnnxModel = { ...source, graph: g, metadata };
  validateModel(model);
  return { model, report };
}
