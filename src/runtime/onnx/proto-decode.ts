/**
 * ONNX `ModelProto` decoder producing an {@link OnnxModel}. See {@link ./proto.ts} for the model types.
 *
 * @module
 */
import { SwitchyardError } from '../../util/errors.ts';
import { ProtoReader, WireType } from './protobuf.ts';
import { ATTR_TYPE, DTYPE_ARRAY, DTYPE_SIZE, FIELD as F, LITTLE_ENDIAN, dtypeFromCode, elementCount } from './proto-consts.ts';
import type { OnnxAttr, OnnxDType, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor, OnnxTensorData, OnnxValueInfo } from './proto.ts';

function unsupported(where: string, problem: string): never {
  throw new SwitchyardError('E_ONNX_DECODE', `onnx ${where}: ${problem}`, 'Switchyard reads the subset of ONNX it writes: dense tensors of float32/float64/int64/int32/bool/uint8/int8/float16 (string only as graph inputs and outputs)');
}

function dtypeOf(code: number, where: string): OnnxDType {
  const dt = dtypeFromCode(code);
  if (dt === undefined) unsupported(where, `unsupported element type code ${code}`);
  return dt;
}

/** Allocates the typed array for `dtype` holding `n` elements, viewing a fresh, aligned buffer. */
function allocate(dtype: OnnxDType, n: number): OnnxTensorData {
  const buf = new ArrayBuffer(n * DTYPE_SIZE[dtype]);
  switch (DTYPE_ARRAY[dtype]) {
    case 'Float32Array': return new Float32Array(buf);
    case 'Float64Array': return new Float64Array(buf);
    case 'BigInt64Array': return new BigInt64Array(buf);
    case 'Int32Array': return new Int32Array(buf);
    case 'Uint16Array': return new Uint16Array(buf);
    case 'Int8Array': return new Int8Array(buf);
    default: return new Uint8Array(buf);
  }
}

function fromRaw(dtype: OnnxDType, raw: Uint8Array, n: number, where: string): OnnxTensorData {
  const size = DTYPE_SIZE[dtype];
  if (raw.length !== n * size) unsupported(where, `raw_data has ${raw.length} bytes, dims need ${n * size}`);
  const data = allocate(dtype, n);
  const bytes = new Uint8Array(data.buffer);
  if (LITTLE_ENDIAN || size === 1) bytes.set(raw);
  else for (let i = 0; i < raw.length; i += size) for (let j = 0; j < size; j++) bytes[i + j] = raw[i + size - 1 - j];
  return data;
}

function decodeTensor(r: ProtoReader, where: string): OnnxTensor {
  const dims: number[] = [];
  let code = 0;
  let name = '';
  let raw: Uint8Array | null = null;
  const floats: number[] = [];
  const ints: number[] = [];
  const int64s: bigint[] = [];
  while (!r.eof()) {
    const [field, wire] = r.key();
    switch (field) {
      case F.tensor.dims: r.repeated(wire, dims, (x) => x.varint()); break;
      case F.tensor.dataType: code = r.varint(); break;
      case F.tensor.name: name = r.string(); break;
      case F.tensor.rawData: raw = r.bytes(); break;
      case F.tensor.floatData: r.repeated(wire, floats, (x) => x.float()); break;
      case F.tensor.doubleData: r.repeated(wire, floats, (x) => x.double()); break;
      case F.tensor.int32Data: r.repeated(wire, ints, (x) => x.varint()); break;
      case F.tensor.int64Data: r.repeated(wire, int64s, (x) => x.varintBig()); break;
      case F.tensor.dataLocation: if (r.varint() !== 0) unsupported(`${where} '${name}'`, 'external data is not supported'); break;
      default: r.skip(wire);
    }
  }
  const at = `${where}${name ? ` '${name}'` : ''}`;
  const dtype = dtypeOf(code, at);
  if (dtype === 'string') unsupported(at, 'string tensor data is not supported');
  const n = elementCount(dims);
  let data: OnnxTensorData;
  if (raw !== null) data = fromRaw(dtype, raw, n, at);
  else {
    const src: ArrayLike<number | bigint> = dtype === 'int64' ? int64s : dtype === 'float32' || dtype === 'float64' ? floats : ints;
    if (src.length !== n) unsupported(at, `has ${src.length} elements, dims [${dims}] need ${n}`);
    data = allocate(dtype, n);
    if (dtype === 'int64') (data as BigInt64Array).set(int64s);
    else (data as Exclude<OnnxTensorData, BigInt64Array>).set(src as number[]);
  }
  return { name, dtype, dims, data };
}

function decodeShape(r: ProtoReader): (number | string)[] {
  const shape: (number | string)[] = [];
  while (!r.eof()) {
    const [field, wire] = r.key();
    if (field !== F.shape.dim) { r.skip(wire); continue; }
    const d = r.sub('TensorShapeProto.Dimension');
    let dim: number | string = '';
    while (!d.eof()) {
      const [f2, w2] = d.key();
      if (f2 === F.dim.value) dim = d.varint();
      else if (f2 === F.dim.param) dim = d.string();
      else d.skip(w2);
    }
    shape.push(dim);
  }
  return shape;
}

function decodeValueInfo(r: ProtoReader, where: string): OnnxValueInfo {
  let name = '';
  let code = 0;
  let shape: (number | string)[] | null = null;
  let sawTensorType = false;
  while (!r.eof()) {
    const [field, wire] = r.key();
    if (field === F.valueInfo.name) name = r.string();
    else if (field === F.valueInfo.type) {
      const t = r.sub('TypeProto');
      while (!t.eof()) {
        const [f2, w2] = t.key();
        if (f2 !== F.type.tensorType) {
          if (w2 === WireType.LEN && f2 !== 6) unsupported(`${where} '${name}'`, `non-tensor type (TypeProto field ${f2})`);
          t.skip(w2);
          continue;
        }
        sawTensorType = true;
        const tt = t.sub('TypeProto.Tensor');
        while (!tt.eof()) {
          const [f3, w3] = tt.key();
          if (f3 === F.tensorType.elemType) code = tt.varint();
          else if (f3 === F.tensorType.shape) shape = decodeShape(tt.sub('TensorShapeProto'));
          else tt.skip(w3);
        }
      }
    } else r.skip(wire);
  }
  if (!sawTensorType) unsupported(`${where} '${name}'`, 'value has no tensor type');
  return { name, dtype: dtypeOf(code, `${where} '${name}'`), shape };
}

function decodeAttr(r: ProtoReader, where: string): [string, OnnxAttr] {
  let name = '';
  let type = 0;
  let f = 0;
  let i = 0;
  let s = '';
  let t: OnnxTensor | null = null;
  let g: OnnxGraph | null = null;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  const seen = new Set<number>();
  while (!r.eof()) {
    const [field, wire] = r.key();
    seen.add(field);
    switch (field) {
      case F.attr.name: name = r.string(); break;
      case F.attr.type: type = r.varint(); break;
      case F.attr.f: f = r.float(); break;
      case F.attr.i: i = r.varint(); break;
      case F.attr.s: s = r.string(); break;
      case F.attr.t: t = decodeTensor(r.sub('TensorProto'), `${where} attribute '${name}'`); break;
      case F.attr.g: g = decodeGraph(r.sub('GraphProto')); break;
      case F.attr.floats: r.repeated(wire, floats, (x) => x.float()); break;
      case F.attr.ints: r.repeated(wire, ints, (x) => x.varint()); break;
      case F.attr.strings: strings.push(r.string()); break;
      default:
        if (field === 10 || field === 11 || field === 22 || field === 23 || field === 14 || field === 15) {
          unsupported(`${where} attribute '${name}'`, `attribute field ${field} (tensors/graphs/sparse/type_proto) is not supported`);
        }
        r.skip(wire);
    }
  }
  if (type === 0) {
    // IR < 2 had no type field: infer it from the field that is set.
    const byField: [number, number][] = [[F.attr.f, 1], [F.attr.i, 2], [F.attr.s, 3], [F.attr.t, 4], [F.attr.g, 5], [F.attr.floats, 6], [F.attr.ints, 7], [F.attr.strings, 8]];
    type = byField.find(([fld]) => seen.has(fld))?.[1] ?? 0;
  }
  const at = `${where} attribute '${name}'`;
  switch (type) {
    case ATTR_TYPE.float: return [name, { kind: 'float', value: f }];
    case ATTR_TYPE.int: return [name, { kind: 'int', value: i }];
    case ATTR_TYPE.string: return [name, { kind: 'string', value: s }];
    case ATTR_TYPE.tensor: if (!t) unsupported(at, 'TENSOR attribute without a tensor'); return [name, { kind: 'tensor', value: t }];
    case ATTR_TYPE.graph: if (!g) unsupported(at, 'GRAPH attribute without a graph'); return [name, { kind: 'graph', value: g }];
    case ATTR_TYPE.floats: return [name, { kind: 'floats', value: floats }];
    case ATTR_TYPE.ints: return [name, { kind: 'ints', value: ints }];
    case ATTR_TYPE.strings: return [name, { kind: 'strings', value: strings }];
    default: return unsupported(at, `unsupported attribute type ${type}`);
  }
}

function decodeNode(r: ProtoReader, where: string): OnnxNode {
  const node: OnnxNode = { opType: '', inputs: [], outputs: [] };
  const attrs: Record<string, OnnxAttr> = {};
  let nAttrs = 0;
  while (!r.eof()) {
    const [field, wire] = r.key();
    switch (field) {
      case F.node.input: node.inputs.push(r.string()); break;
      case F.node.output: node.outputs.push(r.string()); break;
      case F.node.name: node.name = r.string(); break;
      case F.node.opType: node.opType = r.string(); break;
      case F.node.domain: node.domain = r.string(); break;
      case F.node.attribute: {
        const [k, a] = decodeAttr(r.sub('AttributeProto'), `${where} ${node.opType || '?'}`);
        attrs[k] = a;
        nAttrs++;
        break;
      }
      default: r.skip(wire);
    }
  }
  if (nAttrs > 0) node.attrs = attrs;
  if (node.name === '') delete node.name;
  if (node.domain === '') delete node.domain;
  return node;
}

function decodeGraph(r: ProtoReader): OnnxGraph {
  const g: OnnxGraph = { name: '', nodes: [], inputs: [], outputs: [], initializers: [] };
  const valueInfo: OnnxValueInfo[] = [];
  while (!r.eof()) {
    const [field, wire] = r.key();
    switch (field) {
      case F.graph.node: g.nodes.push(decodeNode(r.sub('NodeProto'), `graph node #${g.nodes.length}`)); break;
      case F.graph.name: g.name = r.string(); break;
      case F.graph.initializer: g.initializers.push(decodeTensor(r.sub('TensorProto'), 'initializer')); break;
      case F.graph.input: g.inputs.push(decodeValueInfo(r.sub('ValueInfoProto'), 'graph input')); break;
      case F.graph.output: g.outputs.push(decodeValueInfo(r.sub('ValueInfoProto'), 'graph output')); break;
      case F.graph.valueInfo: valueInfo.push(decodeValueInfo(r.sub('ValueInfoProto'), 'value_info')); break;
      case 15: unsupported(`graph '${g.name}'`, 'sparse initializers are not supported'); break;
      default: r.skip(wire);
    }
  }
  if (valueInfo.length > 0) g.valueInfo = valueInfo;
  return g;
}

/**
 * Decodes ONNX protobuf bytes into an {@link OnnxModel}. Reads what `encodeModel` writes plus
 * tensor data in the typed `*_data` fields; fields Switchyard has no use for (doc strings of
 * graphs and nodes, training info, functions) are skipped; opset imports of other domains land in `imports`.
 *
 * @throws SwitchyardError `E_ONNX_DECODE` on malformed bytes or unsupported content (string tensor
 * data, uint64 tensors, sequence/map types, sparse or external tensors, no default-domain opset).
 */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  const r = new ProtoReader(bytes);
  let graph: OnnxGraph | null = null;
  let opset = -1;
  const m: Partial<OnnxModel> = {};
  const metadata: Record<string, string> = {};
  let nMeta = 0;
  const imports: Record<string, number> = {};
  while (!r.eof()) {
    const [field, wire] = r.key();
    switch (field) {
      case F.model.irVersion: m.irVersion = r.varint(); break;
      case F.model.producerName: m.producerName = r.string(); break;
      case F.model.producerVersion: m.producerVersion = r.string(); break;
      case F.model.docString: m.docString = r.string(); break;
      case F.model.graph: graph = decodeGraph(r.sub('GraphProto')); break;
      case F.model.opsetImport: {
        const o = r.sub('OperatorSetIdProto');
        let domain = '';
        let version = 0;
        while (!o.eof()) {
          const [f2, w2] = o.key();
          if (f2 === F.opset.domain) domain = o.string();
          else if (f2 === F.opset.version) version = o.varint();
          else o.skip(w2);
        }
        if (domain === '' || domain === 'ai.onnx') opset = version;
        else imports[domain] = version;
        break;
      }
      case F.model.metadataProps: {
        const e = r.sub('StringStringEntryProto');
        let key = '';
        let value = '';
        while (!e.eof()) {
          const [f2, w2] = e.key();
          if (f2 === F.entry.key) key = e.string();
          else if (f2 === F.entry.value) value = e.string();
          else e.skip(w2);
        }
        metadata[key] = value;
        nMeta++;
        break;
      }
      default: r.skip(wire);
    }
  }
  if (graph === null) unsupported('model', 'no graph (field 7) found');
  if (opset < 0) unsupported('model', 'no opset import for the default ai.onnx domain');
  const out: OnnxModel = { graph, opset, irVersion: m.irVersion ?? 0 };
  if (m.producerName) out.producerName = m.producerName;
  if (m.producerVersion) out.producerVersion = m.producerVersion;
  if (m.docString) out.docString = m.docString;
  if (nMeta > 0) out.metadata = metadata;
  if (Object.keys(imports).length > 0) out.imports = imports;
  return out;
}
