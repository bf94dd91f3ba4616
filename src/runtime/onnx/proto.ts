/**
 * A plain-TypeScript description of an ONNX model and its protobuf encoding and decoding
 * (`onnx.proto3` field numbers; no dependency on protobufjs or the `onnx` package).
 *
 * Tensors are always written as little-endian `raw_data`. For the same model the output is byte
 * for byte what onnx's own (proto2) serializer writes: fields in field-number order, attribute
 * value fields written even when zero (presence-sensitive readers see them), repeated
 * `dims`/`ints`/`floats` unpacked. The decoder accepts packed and unpacked forms, and tensor data
 * in `raw_data` or the typed `*_data` fields.
 *
 * @module
 */

/**
 * Element types Switchyard writes to ONNX. `string` is for graph inputs and outputs only (a tabular export's raw
 * text columns and class labels): string tensors are never written as initializers or constants.
 */
export type OnnxDType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'uint8' | 'int8' | 'float16' | 'string';

/** Typed array holding a tensor's elements (`bool`/`uint8` as `Uint8Array`, `int8` as `Int8Array`, `float16` as raw bits in `Uint16Array`). */
export type OnnxTensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Uint16Array;

/** A constant tensor (initializer or tensor attribute), encoded as little-endian `raw_data`. */
export interface OnnxTensor {
  name: string;
  dtype: OnnxDType;
  dims: number[];
  data: OnnxTensorData;
}

/**
 * Name, element type and shape of a graph input, output or intermediate value.
 * In `shape`, a number is a fixed dim, a string a symbolic `dim_param` (`''` = unnamed unknown dim),
 * and `null` means unknown rank.
 */
export interface OnnxValueInfo {
  name: string;
  dtype: OnnxDType;
  shape: (number | string)[] | null;
}

/** A node attribute value. */
export type OnnxAttr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; value: OnnxTensor }
  | { kind: 'graph'; value: OnnxGraph };

/** Constructors for {@link OnnxAttr} values, e.g. `{ axis: attr.int(-1) }`. */
export const attr = {
  /** An `INT` attribute (int64). */
  int: (value: number): OnnxAttr => ({ kind: 'int', value }),
  /** A `FLOAT` attribute (stored as float32). */
  float: (value: number): OnnxAttr => ({ kind: 'float', value }),
  /** A `STRING` attribute (UTF-8). */
  string: (value: string): OnnxAttr => ({ kind: 'string', value }),
  /** An `INTS` attribute. */
  ints: (value: number[]): OnnxAttr => ({ kind: 'ints', value }),
  /** A `FLOATS` attribute. */
  floats: (value: number[]): OnnxAttr => ({ kind: 'floats', value }),
  /** A `STRINGS` attribute. */
  strings: (value: string[]): OnnxAttr => ({ kind: 'strings', value }),
  /** A `TENSOR` attribute (e.g. `Constant.value`, `ConstantOfShape.value`). */
  tensor: (value: OnnxTensor): OnnxAttr => ({ kind: 'tensor', value }),
  /** A `GRAPH` attribute (e.g. `Loop.body`, `If.then_branch`). */
  graph: (value: OnnxGraph): OnnxAttr => ({ kind: 'graph', value }),
};

/** One operator application. `''` in `inputs`/`outputs` marks an omitted optional input/output. */
export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** Operator set domain; `''` (default) is the standard `ai.onnx` domain. */
  domain?: string;
  attrs?: Record<string, OnnxAttr>;
}

/** A graph: nodes in topological order, typed inputs/outputs, constant initializers. */
export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxTensor[];
  valueInfo?: OnnxValueInfo[];
}

/** A whole model: the main graph plus the default-domain opset it imports. */
export interface OnnxModel {
  graph: OnnxGraph;
  /** Version of the default (`ai.onnx`) operator set. */
  opset: number;
  /** ONNX IR version; 9 when omitted. */
  irVersion?: number;
  /** Operator sets of other domains the model imports, e.g. `{ 'ai.onnx.ml': 3 }` (default: none). */
  imports?: Record<string, number>;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** `metadata_props` key/value pairs. */
  metadata?: Record<string, string>;
}

export { DEFAULT_IR_VERSION, DTYPE_CODE, DTYPE_SIZE, ATTR_TYPE, dtypeFromCode, elementCount } from './proto-consts.ts';
export { encodeModel } from './proto-encode.ts';
export { decodeModel } from './proto-decode.ts';
