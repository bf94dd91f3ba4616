/**
 * ONNX `ModelProto` encoder for {@link OnnxModel}. See {@link ./proto.ts} for the model types.
 *
 * @module
 */
import { SwitchyardError } from '../../util/errors.ts';
import { ProtoMessage } from './protobuf.ts';
import { ATTR_TYPE, DEFAULT_IR_VERSION, DTYPE_ARRAY, DTYPE_CODE, FIELD as F, LITTLE_ENDIAN, elementCount } from './proto-consts.ts';
import type { OnnxAttr, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from './proto.ts';

function encodeFail(where: string, problem: string, hint: string): never {
  throw new SwitchyardError('E_ONNX_ENCODE', `${where}: ${problem}`, hint);
}

function checkInt(v: number, where: string): number {
  if (!Number.isInteger(v)) encodeFail(where, `${v} is not an integer`, 'ONNX int attributes and dims are int64');
  return v;
}

/** Little-endian bytes of `t.data`, zero-copy on little-endian hosts. */
function rawBytes(t: OnnxTensor, where: string): Uint8Array {
  const want = DTYPE_ARRAY[t.dtype];
  if (!want) encodeFail(where, `unknown dtype '${t.dtype}'`, `use one of ${Object.keys(DTYPE_CODE).join(', ')}`);
  const got = ArrayBuffer.isView(t.data) ? (t.data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] : typeof t.data;
  if (got !== want) encodeFail(where, `dtype ${t.dtype} needs a ${want}, got ${got}`, 'pass the typed array that matches the dtype');
  for (const d of t.dims) if (!Number.isInteger(d) || d < 0) encodeFail(where, `bad dim ${d} in [${t.dims}]`, 'dims are non-negative integers');
  const n = elementCount(t.dims);
  if (t.data.length !== n) encodeFail(where, `dims [${t.dims}] need ${n} elements, data has ${t.data.length}`, 'reshape the data or fix dims');
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (LITTLE_ENDIAN || t.data.BYTES_PER_ELEMENT === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  const w = t.data.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += w) for (let j = 0; j < w; j++) out[i + j] = bytes[i + w - 1 - j];
  return out;
}

function encodeTensor(t: OnnxTensor, where: string): ProtoMessage {
  const m = new ProtoMessage();
  for (const d of t.dims) m.varint(F.tensor.dims, d);
  const raw = rawBytes(t, where);
  m.varint(F.tensor.dataType, DTYPE_CODE[t.dtype]);
  if (t.name) m.string(F.tensor.name, t.name);
  m.bytes(F.tensor.rawData, raw);
  return m;
}

function encodeValueInfo(v: OnnxValueInfo, where: string): ProtoMessage {
  const code = DTYPE_CODE[v.dtype];
  if (code === undefined) encodeFail(`${where} '${v.name}'`, `unknown dtype '${v.dtype}'`, `use one of ${Object.keys(DTYPE_CODE).join(', ')}`);
  const tt = new ProtoMessage().varint(F.tensorType.elemType, code);
  if (v.shape !== null) {
    const shape = new ProtoMessage();
    for (const d of v.shape) {
      const dim = new ProtoMessage();
      if (typeof d === 'number') dim.varint(F.dim.value, checkInt(d, `${where} '${v.name}' shape`));
      else if (d !== '') dim.string(F.dim.param, d);
      shape.message(F.shape.dim, dim);
    }
    tt.message(F.tensorType.shape, shape);
  }
  const m = new ProtoMessage();
  if (v.name) m.string(F.valueInfo.name, v.name);
  return m.message(F.valueInfo.type, new ProtoMessage().message(F.type.tensorType, tt));
}

function encodeAttr(name: string, a: OnnxAttr, where: string): ProtoMessage {
  const m = new ProtoMessage().string(F.attr.name, name);
  const at = `${where} attribute '${name}'`;
  switch (a.kind) {
    case 'float': m.float(F.attr.f, a.value); break;
    case 'int': m.varint(F.attr.i, checkInt(a.value, at)); break;
    case 'string': m.string(F.attr.s, a.value); break;
    case 'tensor': m.message(F.attr.t, encodeTensor(a.value, at)); break;
    case 'graph': m.message(F.attr.g, encodeGraph(a.value)); break;
    case 'floats': for (const v of a.value) m.float(F.attr.floats, v); break;
    case 'ints': for (const v of a.value) m.varint(F.attr.ints, checkInt(v, at)); break;
    case 'strings': for (const v of a.value) m.string(F.attr.strings, v); break;
    default: encodeFail(at, `unknown attribute kind '${(a as { kind: string }).kind}'`, 'build attributes with the attr.* helpers');
  }
  return m.varint(F.attr.type, ATTR_TYPE[a.kind]);
}

function encodeNode(n: OnnxNode, index: number, graphName: string): ProtoMessage {
  const where = `graph '${graphName}' node #${index} ${n.opType}${n.name ? ` '${n.name}'` : ''}`;
  const m = new ProtoMessage();
  for (const s of n.inputs) m.string(F.node.input, s);
  for (const s of n.outputs) m.string(F.node.output, s);
  if (n.name) m.string(F.node.name, n.name);
  m.string(F.node.opType, n.opType);
  for (const [k, a] of Object.entries(n.attrs ?? {})) m.message(F.node.attribute, encodeAttr(k, a, where));
  if (n.domain) m.string(F.node.domain, n.domain);
  return m;
}

function encodeGraph(g: OnnxGraph): ProtoMessage {
  const m = new ProtoMessage();
  g.nodes.forEach((n, i) => m.message(F.graph.node, encodeNode(n, i, g.name)));
  if (g.name) m.string(F.graph.name, g.name);
  for (const t of g.initializers) m.message(F.graph.initializer, encodeTensor(t, `graph '${g.name}' initializer '${t.name}'`));
  for (const v of g.inputs) m.message(F.graph.input, encodeValueInfo(v, `graph '${g.name}' input`));
  for (const v of g.outputs) m.message(F.graph.output, encodeValueInfo(v, `graph '${g.name}' output`));
  for (const v of g.valueInfo ?? []) m.message(F.graph.valueInfo, encodeValueInfo(v, `graph '${g.name}' value_info`));
  return m;
}

/**
 * Encodes a model as ONNX protobuf bytes (a `ModelProto`), ready for
 * `ort.InferenceSession.create(bytes)` or writing to a `.onnx` file.
 * Large initializers are copied exactly once, into the output buffer.
 *
 * @throws SwitchyardError `E_ONNX_ENCODE` when a tensor's data does not match its dtype/dims,
 * or an int attribute/dim is not an integer.
 */
export function encodeModel(m: OnnxModel): Uint8Array {
  const root = new ProtoMessage();
  root.varint(F.model.irVersion, checkInt(m.irVersion ?? DEFAULT_IR_VERSION, 'model ir_version'));
  if (m.producerName) root.string(F.model.producerName, m.producerName);
  if (m.producerVersion) root.string(F.model.producerVersion, m.producerVersion);
  if (m.docString) root.string(F.model.docString, m.docString);
  root.message(F.model.graph, encodeGraph(m.graph));
  root.message(F.model.opsetImport, new ProtoMessage().varint(F.opset.version, checkInt(m.opset, 'model opset')));
  for (const [domain, version] of Object.entries(m.imports ?? {})) {
    root.message(F.model.opsetImport, new ProtoMessage().string(F.opset.domain, domain).varint(F.opset.version, checkInt(version, `model opset of '${domain}'`)));
  }
  for (const [k, v] of Object.entries(m.metadata ?? {})) {
    root.message(F.model.metadataProps, new ProtoMessage().string(F.entry.key, k).string(F.entry.value, v));
  }
  return root.finish();
}
