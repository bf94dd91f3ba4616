/**
 * Numeric tables of the ONNX protobuf schema (field numbers and enum codes from `onnx.proto3`)
 * shared by the encoder ({@link ./proto-encode.ts}) and decoder ({@link ./proto-decode.ts}).
 *
 * @module
 */
import type { OnnxDType } from './proto.ts';

/** IR version written when `OnnxModel.irVersion` is omitted. */
export const DEFAULT_IR_VERSION = 9;

/** `TensorProto.DataType` code of each {@link OnnxDType}. */
export const DTYPE_CODE: Readonly<Record<OnnxDType, number>> = {
  float32: 1, uint8: 2, int8: 3, string: 8, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11,
};

/** Bytes per element of each {@link OnnxDType}. */
export const DTYPE_SIZE: Readonly<Record<OnnxDType, number>> = {
  float32: 4, uint8: 1, int8: 1, int32: 4, int64: 8, bool: 1, float16: 2, float64: 8, string: 0,
};

/**
 * Name of the typed array class that holds each {@link OnnxDType} (its `Symbol.toStringTag`); `string` has none
 * (string tensors are not written as data).
 */
export const DTYPE_ARRAY: Readonly<Record<OnnxDType, string>> = {
  float32: 'Float32Array', float64: 'Float64Array', int64: 'BigInt64Array', int32: 'Int32Array',
  bool: 'Uint8Array', uint8: 'Uint8Array', int8: 'Int8Array', float16: 'Uint16Array', string: '',
};

/** The {@link OnnxDType} of a `TensorProto.DataType` code, or `undefined` for types Switchyard does not use. */
export function dtypeFromCode(code: number): OnnxDType | undefined {
  for (const k of Object.keys(DTYPE_CODE) as OnnxDType[]) if (DTYPE_CODE[k] === code) return k;
  return undefined;
}

/** Product of `dims` (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** `AttributeProto.AttributeType` codes of the attribute kinds Switchyard uses. */
export const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8 } as const;

/** Field numbers from onnx.proto3 (only the fields Switchyard reads or writes). */
export const FIELD = {
  model: { irVersion: 1, producerName: 2, producerVersion: 3, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 },
  opset: { domain: 1, version: 2 },
  entry: { key: 1, value: 2 },
  graph: { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 },
  attr: { name: 1, f: 2, i: 3, s: 4, t: 5, g: 6, floats: 7, ints: 8, strings: 9, type: 20 },
  tensor: { dims: 1, dataType: 2, floatData: 4, int32Data: 5, int64Data: 7, name: 8, rawData: 9, doubleData: 10, dataLocation: 14 },
  valueInfo: { name: 1, type: 2 },
  type: { tensorType: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { value: 1, param: 2 },
} as const;

/** True on little-endian hosts (all platforms Node ships for today). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
