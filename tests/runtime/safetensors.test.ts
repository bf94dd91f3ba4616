import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
  type NamedTensor,
} from '../../src/runtime/safetensors.ts';
import { expectCode } from '../expect-error.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));


/** Builds a file from a raw header object and data bytes, for malformed-input tests. */
function rawFile(header: unknown, data: Uint8Array, headerLen?: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const all: Record<string, NamedTensor> = {
  f32: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2.5, 3, 4, 5, Math.PI]) },
  f64: { dtype: 'F64', shape: [3], data: new Float64Array([Math.E, -1e300, 5e-324]) },
  i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
  i32: { dtype: 'I32', shape: [1, 2], data: new Int32Array([-7, 2 ** 31 - 1]) },
  u8: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
  bool: { dtype: 'BOOL', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
  f16: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
  scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
  empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
};

describe('safetensors', () => {
  it('round-trips every dtype, a 0-d and an empty tensor, and metadata', () => {
    const bytes = encodeSafetensors(all, { format: 'pt', note: 'ünïcode ✓' });
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt', note: 'ünïcode ✓' });
    expect([...tensors.keys()]).toEqual(Object.keys(all));
    for (const [name, t] of Object.entries(all)) {
      const got = tensors.get(name)!;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(got.data.constructor).toBe(t.data.constructor);
      expect(Array.from(got.data as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
  });

  it('accepts a Map, keeps its order, and writes no metadata key when none is given', () => {
    const m = new Map<string, NamedTensor>([
      ['z', { dtype: 'U8', shape: [1], data: new Uint8Array([9]) }],
      ['a', { dtype: 'U8', shape: [1], data: new Uint8Array([8]) }],
    ]);
    const bytes = encodeSafetensors(m);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
    expect(Object.keys(header)).toEqual(['z', 'a']);
    const out = decodeSafetensors(bytes);
    expect([...out.tensors.keys()]).toEqual(['z', 'a']);
    expect(out.metadata).toEqual({});
  });

  it('writes the exact byte layout (hand-computed example)', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }, { k: 'v' });
    const json = '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(json.length).toBe(79); // padded with 1 space to 80 so that 8 + 80 is a multiple of 8
    const expected = [
      80, 0, 0, 0, 0, 0, 0, 0,
      ...Buffer.from(json + ' '),
      0x00, 0x00, 0x80, 0x3f, // 1.0f little-endian
      0x00, 0x00, 0x00, 0x40, // 2.0f little-endian
    ];
    expect(Array.from(bytes)).toEqual(expected);
    expect(bytes.length).toBe(96);
  });

  it('decodes into aligned, independent typed arrays even from an unaligned view', () => {
    const inner = encodeSafetensors({ x: { dtype: 'F64', shape: [2], data: new Float64Array([1.5, -2]) } });
    const big = new Uint8Array(inner.length + 3);
    big.set(inner, 3);
    const view = big.subarray(3);
    const t = decodeSafetensors(view).tensors.get('x')!;
    expect(t.data.byteOffset % 8).toBe(0);
    expect(Array.from(t.data as Float64Array)).toEqual([1.5, -2]);
    big.fill(0);
    expect(Array.from(t.data as Float64Array)).toEqual([1.5, -2]);
  });

  it('rejects truncated files', () => {
    const bytes = encodeSafetensors(all);
    expectCode(() => decodeSafetensors(bytes.subarray(0, 5), 'm.st'), 'E_SAFETENSORS', /^m\.st: file is 5 bytes/);
    expectCode(() => decodeSafetensors(bytes.subarray(0, 40), 'm.st'), 'E_SAFETENSORS', /truncated/);
    expectCode(() => decodeSafetensors(bytes.subarray(0, bytes.length - 1), 'm.st'), 'E_SAFETENSORS', /truncated/);
  });

  it('rejects overlapping, gapped, wrong-sized and trailing data', () => {
    const data = new Uint8Array(8);
    const t = (o: [number, number], shape = [1]) => ({ dtype: 'F32', shape, data_offsets: o });
    expectCode(() => decodeSafetensors(rawFile({ a: t([0, 4]), b: t([2, 6]) }, data.subarray(0, 6)), 'f'), 'E_SAFETENSORS', /tensor "b".*overlap/);
    expectCode(() => decodeSafetensors(rawFile({ a: t([0, 4]), b: t([0, 4]) }, data.subarray(0, 4)), 'f'), 'E_SAFETENSORS', /overlap/);
    expectCode(() => decodeSafetensors(rawFile({ a: t([4, 8]) }, data), 'f'), 'E_SAFETENSORS', /tensor "a".*gap/);
    expectCode(() => decodeSafetensors(rawFile({ a: t([0, 8]) }, data), 'f'), 'E_SAFETENSORS', /tensor "a": shape \[1\] of F32 needs 4 bytes but data_offsets span 8/);
    expectCode(() => decodeSafetensors(rawFile({ a: t([0, 4]) }, data), 'f'), 'E_SAFETENSORS', /covers 4 bytes but the file holds 8/);
    expectCode(() => decodeSafetensors(rawFile({ a: t([4, 0]) }, data), 'f'), 'E_SAFETENSORS', /end before/);
  });

  it('rejects bad headers: length bounds, non-JSON, unknown dtype, bad shape, bad metadata', () => {
    const data = new Uint8Array(4);
    const ok = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };
    expectCode(() => decodeSafetensors(rawFile({ a: ok }, data, 2 ** 40)), 'E_SAFETENSORS', /exceeds/);
    expectCode(() => decodeSafetensors(rawFile({ a: ok }, data, 1000)), 'E_SAFETENSORS', /truncated/);
    const notJson = rawFile({ a: ok }, data);
    notJson[12] = 0x7d; // a stray '}' breaks the JSON
    expectCode(() => decodeSafetensors(notJson), 'E_SAFETENSORS', /not valid UTF-8 JSON/);
    expectCode(() => decodeSafetensors(rawFile([1], data)), 'E_SAFETENSORS', /start with/);
    expectCode(() => decodeSafetensors(rawFile({ a: { ...ok, dtype: 'BF16' } }, data)), 'E_SAFETENSORS', /tensor "a": dtype "BF16" is not supported/);
    expectCode(() => decodeSafetensors(rawFile({ a: { ...ok, shape: [-1] } }, data)), 'E_SAFETENSORS', /shape/);
    expectCode(() => decodeSafetensors(rawFile({ a: { ...ok, data_offsets: [0] } }, data)), 'E_SAFETENSORS', /data_offsets/);
    expectCode(() => decodeSafetensors(rawFile({ __metadata__: { n: 1 }, a: ok }, data)), 'E_SAFETENSORS', /__metadata__ "n"/);
  });

  it('refuses to encode inconsistent tensors', () => {
    expectCode(() => encodeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }), 'E_SAFETENSORS', /tensor "a": shape \[3\] has 3 elements but data has 2/);
    expectCode(() => encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float64Array(2) } }), 'E_SAFETENSORS', /needs a Float32Array/);
    expectCode(() => encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } }), 'E_SAFETENSORS', /reserved/);
  });

  it('encodes subarray views by their own bytes only', () => {
    const backing = new Float32Array([9, 1, 2, 9]);
    const bytes = encodeSafetensors({ v: { dtype: 'F32', shape: [2], data: backing.subarray(1, 3) } });
    expect(Array.from(decodeSafetensors(bytes).tensors.get('v')!.data as Float32Array)).toEqual([1, 2]);
  });

  it('saves atomically and loads from disk, naming the file in errors', async () => {
    const file = join(dir, 'sub', 'model.safetensors');
    await saveSafetensors(file, all, { step: '3' });
    expect(readdirSync(join(dir, 'sub'))).toEqual(['model.safetensors']);
    const { tensors, metadata } = await loadSafetensors(file);
    expect(metadata.step).toBe('3');
    expect(tensors.size).toBe(Object.keys(all).length);
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, readFileSync(file).subarray(0, 100));
    await expect(loadSafetensors(cut)).rejects.toMatchObject({ code: 'E_SAFETENSORS', message: expect.stringContaining(cut) });
    await expect(loadSafetensors(join(dir, 'nope.safetensors'))).rejects.toMatchObject({ code: 'E_SAFETENSORS', message: expect.stringMatching(/no such file/) });
  });
});
