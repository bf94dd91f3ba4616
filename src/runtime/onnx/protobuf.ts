/**
 * A minimal, dependency-free Protocol Buffers wire-format writer and reader, just enough for ONNX.
 *
 * Writing is two-pass: a message is first assembled as a tree of {@link ProtoMessage} parts (large
 * byte payloads such as tensor `raw_data` are referenced, never copied), then its exact size is
 * computed and it is written once into a single pre-sized `Uint8Array`. Field order is the order of
 * the calls, so callers add fields in field-number order to get canonical output.
 *
 * Reading is a cursor ({@link ProtoReader}) over a `Uint8Array`; sub-messages and byte fields are
 * zero-copy `subarray` views.
 *
 * @module
 */
import { SwitchyardError } from '../../util/errors.ts';

/** Protobuf wire types used by ONNX. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;

const TWO_32 = 4294967296;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** Number of bytes the varint encoding of `v` (an int64 given as a JS number) takes. */
function varintSize(v: number): number {
  if (v < 0) return 10;
  if (v > Number.MAX_SAFE_INTEGER) return v >= 2 ** 56 ? 9 : 8; // written clamped to int64 max
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** A byte sink with a cursor; sized exactly by the size pass, so it never grows. */
class Sink {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  varint(v: number): void {
    const buf = this.buf;
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      while (v >= 128) {
        buf[this.pos++] = (v % 128) | 128;
        v = Math.floor(v / 128);
      }
      buf[this.pos++] = v;
      return;
    }
    // Negative or beyond 2^53: exact 64-bit two's complement via BigInt (rare: axis=-1 and the like).
    let b = BigInt(v);
    if (b > INT64_MAX) b = INT64_MAX;
    if (b < INT64_MIN) b = INT64_MIN;
    let u = BigInt.asUintN(64, b);
    while (u >= 128n) {
      buf[this.pos++] = Number(u & 127n) | 128;
      u >>= 7n;
    }
    buf[this.pos++] = Number(u);
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** Writes `s` as UTF-8; `len` is its UTF-8 byte length. */
  string(s: string, len: number): void {
    if (len === s.length) {
      const buf = this.buf;
      for (let i = 0; i < len; i++) buf[this.pos + i] = s.charCodeAt(i);
    } else {
      utf8Encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + len));
    }
    this.pos += len;
  }
}

/** UTF-8 byte length of `s` (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder writes them). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 2 UTF-16 units -> 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}

type Part =
  | { k: 'varint'; tag: number; v: number }
  | { k: 'f32'; tag: number; v: number }
  | { k: 'bytes'; tag: number; v: Uint8Array }
  | { k: 'str'; tag: number; v: string; len: number }
  | { k: 'msg'; tag: number; v: ProtoMessage }
  | { k: 'packedVarint'; tag: number; v: ArrayLike<number> }
  | { k: 'packedF32'; tag: number; v: ArrayLike<number> };

function tagOf(field: number, wire: number): number {
  return field * 8 + wire;
}

/**
 * A protobuf message under construction. Add fields in field-number order, then call
 * {@link ProtoMessage.finish} on the root to get the encoded bytes.
 */
export class ProtoMessage {
  private readonly parts: Part[] = [];
  private cachedSize = -1;

  /** Adds an int64/int32/enum/bool field (wire type varint). Negative values take 10 bytes. */
  varint(field: number, v: number): this {
    this.parts.push({ k: 'varint', tag: tagOf(field, WireType.VARINT), v });
    return this;
  }
  /** Adds a `float` field (wire type I32). */
  float(field: number, v: number): this {
    this.parts.push({ k: 'f32', tag: tagOf(field, WireType.I32), v });
    return this;
  }
  /** Adds a `bytes` field; the array is referenced, not copied, until {@link ProtoMessage.finish}. */
  bytes(field: number, v: Uint8Array): this {
    this.parts.push({ k: 'bytes', tag: tagOf(field, WireType.LEN), v });
    return this;
  }
  /** Adds a `string` field, UTF-8 encoded. */
  string(field: number, s: string): this {
    this.parts.push({ k: 'str', tag: tagOf(field, WireType.LEN), v: s, len: utf8Length(s) });
    return this;
  }
  /** Adds an embedded message field. */
  message(field: number, m: ProtoMessage): this {
    this.parts.push({ k: 'msg', tag: tagOf(field, WireType.LEN), v: m });
    return this;
  }
  /** Adds a packed repeated varint field (skipped when empty). */
  packedVarints(field: number, v: ArrayLike<number>): this {
    if (v.length > 0) this.parts.push({ k: 'packedVarint', tag: tagOf(field, WireType.LEN), v });
    return this;
  }
  /** Adds a packed repeated float field (skipped when empty). */
  packedFloats(field: number, v: ArrayLike<number>): this {
    if (v.length > 0) this.parts.push({ k: 'packedF32', tag: tagOf(field, WireType.LEN), v });
    return this;
  }

  /** Encoded size in bytes (cached; do not add fields after calling it). */
  size(): number {
    if (this.cachedSize >= 0) return this.cachedSize;
    let n = 0;
    for (const p of this.parts) {
      n += varintSize(p.tag);
      switch (p.k) {
        case 'varint': n += varintSize(p.v); break;
        case 'f32': n += 4; break;
        case 'bytes': n += varintSize(p.v.length) + p.v.length; break;
        case 'str': n += varintSize(p.len) + p.len; break;
        case 'msg': { const s = p.v.size(); n += varintSize(s) + s; break; }
        case 'packedVarint': { const s = packedVarintSize(p.v); n += varintSize(s) + s; break; }
        case 'packedF32': n += varintSize(p.v.length * 4) + p.v.length * 4; break;
      }
    }
    this.cachedSize = n;
    return n;
  }

  private writeTo(out: Sink): void {
    for (const p of this.parts) {
      out.varint(p.tag);
      switch (p.k) {
        case 'varint': out.varint(p.v); break;
        case 'f32': out.view.setFloat32(out.pos, p.v, true); out.pos += 4; break;
        case 'bytes': out.varint(p.v.length); out.bytes(p.v); break;
        case 'str': out.varint(p.len); out.string(p.v, p.len); break;
        case 'msg': out.varint(p.v.size()); p.v.writeTo(out); break;
        case 'packedVarint':
          out.varint(packedVarintSize(p.v));
          for (let i = 0; i < p.v.length; i++) out.varint(p.v[i]);
          break;
        case 'packedF32':
          out.varint(p.v.length * 4);
          for (let i = 0; i < p.v.length; i++, out.pos += 4) out.view.setFloat32(out.pos, p.v[i], true);
          break;
      }
    }
  }

  /** Encodes this message (as a root message, without a length prefix) into a new exact-size array. */
  finish(): Uint8Array {
    const out = new Sink(this.size());
    this.writeTo(out);
    if (out.pos !== out.buf.length) {
      throw new SwitchyardError('E_ONNX_ENCODE', `protobuf writer: wrote ${out.pos} of ${out.buf.length} bytes`, 'this is a bug in src/runtime/onnx/protobuf.ts', 1);
    }
    return out.buf;
  }
}

function packedVarintSize(v: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += varintSize(v[i]);
  return n;
}

/** A decoding cursor over protobuf bytes. Throws `E_ONNX_DECODE` on truncated or malformed input. */
export class ProtoReader {
  private readonly view: DataView;
  /** Current byte offset into `buf`. */
  pos: number;

  /** Reads `buf[start, end)`. `what` names the message for error messages. */
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length, readonly what = 'model') {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private fail(problem: string): never {
    throw new SwitchyardError('E_ONNX_DECODE', `onnx ${this.what} at byte ${this.pos}: ${problem}`, 'the bytes are not a valid ONNX protobuf (truncated file or not an .onnx model?)');
  }

  /** True when the cursor reached the end of this message. */
  eof(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a field key; returns `[fieldNumber, wireType]`. */
  key(): [number, number] {
    const t = this.varint();
    const field = Math.floor(t / 8);
    if (field === 0) this.fail('field number 0');
    return [field, t % 8];
  }

  /** Reads a varint as a JS number (int64 two's complement; exact within ±2^53). */
  varint(): number {
    const buf = this.buf;
    if (this.pos >= this.end) this.fail('unexpected end of data in varint');
    let b = buf[this.pos++];
    if (b < 128) return b;
    let lo = b & 127;
    let hi = 0;
    for (let i = 1; i < 10; i++) {
      if (this.pos >= this.end) this.fail('unexpected end of data in varint');
      b = buf[this.pos++];
      const bits = b & 127;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) { lo |= (bits & 15) << 28; hi |= bits >>> 4; }
      else hi |= bits << (7 * i - 32);
      if (b < 128) {
        lo >>>= 0;
        hi >>>= 0;
        if (hi >= 0x80000000) return -((4294967295 - hi) * TWO_32 + (TWO_32 - lo));
        return hi * TWO_32 + lo;
      }
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Reads a varint as an exact signed 64-bit BigInt. */
  varintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('unexpected end of data in varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 127) << shift;
      if (b < 128) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Reads a little-endian float32 (wire type I32). */
  float(): number {
    if (this.pos + 4 > this.end) this.fail('unexpected end of data in float');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Reads a little-endian float64 (wire type I64). */
  double(): number {
    if (this.pos + 8 > this.end) this.fail('unexpected end of data in double');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a length-delimited field as a zero-copy view. */
  bytes(): Uint8Array {
    const len = this.varint();
    if (len < 0 || this.pos + len > this.end) this.fail(`length ${len} runs past the end of the message`);
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /** Reads a length-delimited field as a UTF-8 string. */
  string(): string {
    return utf8Decoder.decode(this.bytes());
  }

  /** Reads a length-delimited field as a nested message reader. */
  sub(what: string): ProtoReader {
    const len = this.varint();
    if (len < 0 || this.pos + len > this.end) this.fail(`length ${len} of ${what} runs past the end of the message`);
    const r = new ProtoReader(this.buf, this.pos, this.pos + len, what);
    this.pos += len;
    return r;
  }

  /**
   * Reads a repeated numeric field that may be packed (wire type LEN) or not; appends to `out`.
   * `one` reads a single element.
   */
  repeated<T>(wire: number, out: T[], one: (r: ProtoReader) => T): void {
    if (wire === WireType.LEN) {
      const r = this.sub(this.what);
      while (!r.eof()) out.push(one(r));
    } else {
      out.push(one(this));
    }
  }

  /** Skips a field of the given wire type. */
  skip(wire: number): void {
    switch (wire) {
      case WireType.VARINT: this.varint(); break;
      case WireType.I64: this.pos += 8; break;
      case WireType.LEN: this.bytes(); break;
      case WireType.I32: this.pos += 4; break;
      default: this.fail(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) this.fail('field runs past the end of the message');
  }
}
