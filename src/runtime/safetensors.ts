/**
 * Reader and writer for the Hugging Face safetensors format:
 *
 * ```
 * [8 bytes]  N, unsigned 64-bit little-endian: byte length of the header
 * [N bytes]  UTF-8 JSON object, starting with '{', padded with spaces (0x20) so that 8 + N is a multiple of 8:
 *            { "__metadata__": { "k": "v" },                       (optional, string -> string)
 *              "name": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ... }
 * [rest]     the byte buffer; offsets are relative to its start; tensors are contiguous, cover it
 *            exactly, little-endian, row-major
 * ```
 *
 * Decoding treats the file as hostile: every length and offset is checked before use, and tensor data
 * is copied into freshly allocated (hence aligned) typed arrays.
 */
import { readFile } from 'node:fs/promises';
import { SwitchyardError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';

/** Element types this module reads and writes. `BOOL` is one byte per element (0 or 1), `F16` raw IEEE half bits. */
export type SafetensorsDtype = 'F32' | 'F64' | 'I64' | 'I32' | 'U8' | 'BOOL' | 'F16';

/** A tensor as stored in a safetensors file. `data.length` equals the product of `shape` (1 for `[]`). */
export interface NamedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;
}

/** Result of {@link decodeSafetensors}: tensors in file (offset) order, and the `__metadata__` map. */
export interface DecodedSafetensors {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

type TypedCtor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | Int32ArrayConstructor
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor;

const DTYPES: Record<SafetensorsDtype, { bytes: number; ctor: TypedCtor }> = {
  F32: { bytes: 4, ctor: Float32Array },
  F64: { bytes: 8, ctor: Float64Array },
  I64: { bytes: 8, ctor: BigInt64Array },
  I32: { bytes: 4, ctor: Int32Array },
  U8: { bytes: 1, ctor: Uint8Array },
  BOOL: { bytes: 1, ctor: Uint8Array },
  F16: { bytes: 2, ctor: Uint16Array },
};

/**
 * The supported dtypes with their element size in bytes.
 *
 * @example
 * SAFETENSORS_DTYPE_BYTES.F16; // 2
 */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = Object.freeze(
  Object.fromEntries(Object.entries(DTYPES).map(([k, v]) => [k, v.bytes])) as Record<SafetensorsDtype, number>,
);

/** Largest header accepted when decoding (the reference implementation uses the same 100 MB limit). */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(source: string, what: string, hint = 'the file is not a valid safetensors file; re-export it'): never {
  throw new SwitchyardError('E_SAFETENSORS', `${source}: ${what}`, hint);
}

function isDtype(d: unknown): d is SafetensorsDtype {
  return typeof d === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, d);
}

function numel(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new SwitchyardError('E_SAFETENSORS', 'safetensors: big-endian hosts are not supported', '', 1);
}

/**
 * Serialises tensors (in insertion order) and optional string metadata to safetensors bytes.
 * Throws `SwitchyardError('E_SAFETENSORS')` when a tensor's dtype, array type or shape is inconsistent.
 *
 * @example
 * const bytes = encodeSafetensors(
 *   { 'fc.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } },
 *   { format: 'pt' },
 * );
 */
export function encodeSafetensors(
  tensors: Map<string, NamedTensor> | Record<string, NamedTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  checkLittleEndian();
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail('safetensors', `metadata "${k}": value must be a string, got ${typeof v}`, 'convert metadata values to strings');
      meta[k] = v;
    }
    header[METADATA_KEY] = meta;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    const where = `tensor "${name}"`;
    if (name === METADATA_KEY || name === '') fail('safetensors', `${where}: reserved or empty tensor name`, 'rename the tensor');
    if (!isDtype(t.dtype)) fail('safetensors', `${where}: unsupported dtype ${String(t.dtype)}`, `use one of ${Object.keys(DTYPES).join(', ')}`);
    const { bytes, ctor } = DTYPES[t.dtype];
    if (!(t.data instanceof ctor)) {
      fail('safetensors', `${where}: dtype ${t.dtype} needs a ${ctor.name}, got ${t.data?.constructor?.name ?? typeof t.data}`, 'convert the data to the matching typed array');
    }
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail('safetensors', `${where}: shape ${JSON.stringify(t.shape)} must be a list of non-negative integers`, 'fix the shape');
    }
    if (numel(t.shape) !== t.data.length) {
      fail('safetensors', `${where}: shape [${t.shape.join(', ')}] has ${numel(t.shape)} elements but data has ${t.data.length}`, 'fix the shape or the data');
    }
    const size = t.data.length * bytes;
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

interface RawEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(source: string, name: string, v: unknown): RawEntry {
  const where = `tensor "${name}"`;
  if (!v || typeof v !== 'object' || Array.isArray(v)) fail(source, `${where}: header entry is not an object`);
  const e = v as Record<string, unknown>;
  if (!isDtype(e.dtype)) {
    fail(source, `${where}: dtype ${JSON.stringify(e.dtype)} is not supported (supported: ${Object.keys(DTYPES).join(', ')})`, 'convert the tensor to a supported dtype before saving');
  }
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(source, `${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  const offs = e.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(source, `${where}: data_offsets ${JSON.stringify(offs)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offs as [number, number];
  if (end < begin) fail(source, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
  return { name, dtype: e.dtype, shape: shape as number[], begin, end };
}

/**
 * Parses safetensors bytes. `source` names the file in error messages.
 * Validates the header length, JSON, dtypes, shapes, and that the data offsets are contiguous,
 * non-overlapping and cover the byte buffer exactly; throws `SwitchyardError('E_SAFETENSORS',
 * '<source>: tensor "x": …')` otherwise. Tensor data is copied into new, aligned typed arrays.
 *
 * @example
 * const { tensors, metadata } = decodeSafetensors(bytes, 'model.safetensors');
 * tensors.get('fc.weight')?.data; // Float32Array
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<bytes>'): DecodedSafetensors {
  checkLittleEndian();
  if (bytes.byteLength < 8) fail(source, `file is ${bytes.byteLength} bytes; a safetensors file starts with an 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail(source, `header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(n64);
  if (n < 2) fail(source, `header length ${n} is too small for a JSON object`);
  if (8 + n > bytes.byteLength) fail(source, `header length ${n} runs past the end of the file (${bytes.byteLength} bytes): the file is truncated`);
  const headerBytes = bytes.subarray(8, 8 + n);
  if (headerBytes[0] !== 0x7b) fail(source, `header does not start with '{'`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    fail(source, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail(source, 'header is not a JSON object');

  const metadata: Record<string, string> = {};
  const entries: RawEntry[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (v === null) continue;
      if (typeof v !== 'object' || Array.isArray(v)) fail(source, '__metadata__ is not an object');
      for (const [k, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(source, `__metadata__ "${k}": value is not a string`);
        metadata[k] = mv;
      }
      continue;
    }
    entries.push(parseEntry(source, name, v));
  }

  const dataStart = 8 + n;
  const dataLen = bytes.byteLength - dataStart;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of entries) {
    const where = `tensor "${e.name}"`;
    if (e.begin < expected) fail(source, `${where}: data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (which ends at ${expected})`);
    if (e.begin > expected) fail(source, `${where}: data_offsets [${e.begin}, ${e.end}] leave a gap after byte ${expected}`);
    if (e.end > dataLen) fail(source, `${where}: data_offsets [${e.begin}, ${e.end}] run past the end of the data (${dataLen} bytes): the file is truncated`);
    const count = numel(e.shape);
    const want = count * DTYPES[e.dtype].bytes;
    if (!Number.isSafeInteger(want) || want !== e.end - e.begin) {
      fail(source, `${where}: shape [${e.shape.join(', ')}] of ${e.dtype} needs ${want} bytes but data_offsets span ${e.end - e.begin}`);
    }
    expected = e.end;
  }
  if (expected !== dataLen) fail(source, `tensor data covers ${expected} bytes but the file holds ${dataLen} after the header`);

  const tensors = new Map<string, NamedTensor>();
  for (const e of entries) {
    const { ctor } = DTYPES[e.dtype];
    const size = e.end - e.begin;
    const buf = new ArrayBuffer(size);
    new Uint8Array(buf).set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: new ctor(buf) });
  }
  return { tensors, metadata };
}

/**
 * Writes tensors (and optional metadata) to a safetensors file atomically (temp file + rename).
 *
 * @example
 * await saveSafetensors('runs/a/model.safetensors', params, { format: 'pt', step: '1000' });
 */
export async function saveSafetensors(
  file: string,
  tensors: Map<string, NamedTensor> | Record<string, NamedTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/**
 * Reads and validates a safetensors file. A missing file is `E_SAFETENSORS` with a hint.
 *
 * @example
 * const { tensors } = await loadSafetensors('runs/a/model.safetensors');
 * for (const [name, t] of tensors) console.log(name, t.dtype, t.shape);
 */
export async function loadSafetensors(file: string): Promise<DecodedSafetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    fail(file, e.code === 'ENOENT' ? 'no such file' : `cannot read (${e.message})`, 'check the path to the weights file');
  }
  return decodeSafetensors(bytes, file);
}
