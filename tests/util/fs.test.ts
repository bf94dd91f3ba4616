import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addToManifest,
  commitDirAtomic,
  isModelArtefact,
  sha256Bytes,
  sha256File,
  stringifyJson,
  tempDirFor,
  verifyManifest,
  writeFileAtomic,
  writeFileAtomicSync,
  writeJsonAtomic,
  writeManifest,
} from '../../src/util/fs.ts';
import { expectSwitchyardError } from '../train/helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'sy-fs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const d = join(root, `case${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

describe('writeFileAtomic', () => {
  it('creates parent dirs, writes bytes and strings, leaves no temp files', async () => {
    const d = fresh();
    await writeFileAtomic(join(d, 'a', 'b', 'x.bin'), new Uint8Array([1, 2, 3]));
    await writeFileAtomic(join(d, 'a', 'y.txt'), 'héllo');
    writeFileAtomicSync(join(d, 'a', 'z.txt'), 'sync');
    expect(Array.from(readFileSync(join(d, 'a', 'b', 'x.bin')))).toEqual([1, 2, 3]);
    expect(readFileSync(join(d, 'a', 'y.txt'), 'utf8')).toBe('héllo');
    expect(readFileSync(join(d, 'a', 'z.txt'), 'utf8')).toBe('sync');
    expect(readdirSync(join(d, 'a')).sort()).toEqual(['b', 'y.txt', 'z.txt']);
    expect(readdirSync(join(d, 'a', 'b'))).toEqual(['x.bin']);
  });

  it('readers only ever see the old or the new complete file', async () => {
    const d = fresh();
    const file = join(d, 'big.bin');
    const size = 4 << 20;
    const oldBytes = Buffer.alloc(size, 'a');
    const newBytes = Buffer.alloc(size, 'b');
    writeFileSync(file, oldBytes);
    let finished = false;
    const p = writeFileAtomic(file, newBytes).then(() => (finished = true));
    const seen = new Set<string>();
    while (!finished) {
      const buf = readFileSync(file);
      expect(buf.length).toBe(size);
      expect(buf.equals(buf[0] === 0x61 ? oldBytes : newBytes)).toBe(true);
      seen.add(String.fromCharCode(buf[0]));
      await new Promise((r) => setImmediate(r));
    }
    await p;
    expect(readFileSync(file, 'latin1')[0]).toBe('b');
    expect(readdirSync(d)).toEqual(['big.bin']);
  });

  it('on failure keeps the old file and removes its temp file', async () => {
    const d = fresh();
    mkdirSync(join(d, 'target'));
    writeFileSync(join(d, 'target', 'keep'), 'x');
    await expect(writeFileAtomic(join(d, 'target'), 'new')).rejects.toThrow();
    expect(() => writeFileAtomicSync(join(d, 'target'), 'new')).toThrow();
    expect(readdirSync(d)).toEqual(['target']);
    expect(readFileSync(join(d, 'target', 'keep'), 'utf8')).toBe('x');
  });

  it('a path that cannot be written is one E_OUTPUT error naming it, with a hint', async () => {
    const d = fresh();
    mkdirSync(join(d, 'dir'));
    writeFileSync(join(d, 'file'), 'x');
    const cases: [string, RegExp][] = [
      [join(d, 'dir'), /dir: cannot write \(it is a directory\)/],
      [join(d, 'file', 'sub', 'x.onnx'), /x\.onnx: cannot write \(a parent of it is a file, not a directory\)/],
    ];
    for (const [target, re] of cases) {
      await expectSwitchyardError(() => writeFileAtomic(target, 'new'), 'E_OUTPUT', re);
      await expectSwitchyardError(() => writeFileAtomicSync(target, 'new'), 'E_OUTPUT', re);
    }
    expect(readdirSync(d).sort()).toEqual(['dir', 'file']);
  });

  it('writeJsonAtomic writes pretty JSON with bigint support', async () => {
    const d = fresh();
    await writeJsonAtomic(join(d, 'c.json'), { a: 1, b: 2n ** 70n, c: 5n });
    const text = readFileSync(join(d, 'c.json'), 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({ a: 1, b: (2n ** 70n).toString(), c: 5 });
    expect(stringifyJson({ n: 3n })).toBe('{"n":3}');
  });
});

describe('sha256', () => {
  it('matches known vectors for bytes and files', async () => {
    expect(sha256Bytes('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Bytes(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const f = join(fresh(), 'abc.txt');
    writeFileSync(f, 'abc');
    expect(await sha256File(f)).toBe(sha256Bytes('abc'));
  });
});

describe('manifest', () => {
  async function makeRun(): Promise<string> {
    const d = fresh();
    await writeJsonAtomic(join(d, 'config.json'), { lr: 0.001 });
    await writeFileAtomic(join(d, 'model.safetensors'), new Uint8Array(256).map((_, i) => i));
    await writeFileAtomic(join(d, 'eval', 'metrics.jsonl'), '{"step":1}\n');
    return d;
  }

  it('lists every file recursively with size and hash, excluding itself', async () => {
    const d = await makeRun();
    const m = await writeManifest(d);
    expect(m.files.map((f) => f.path)).toEqual(['config.json', 'eval/metrics.jsonl', 'model.safetensors']);
    expect(m.files[2]).toEqual({ path: 'model.safetensors', size: 256, sha256: sha256Bytes(readFileSync(join(d, 'model.safetensors'))) });
    const onDisk = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8'));
    expect(onDisk).toEqual(m);
    // Re-writing does not list the old manifest.
    expect((await writeManifest(d)).files.length).toBe(3);
    await expect(verifyManifest(d)).resolves.toEqual(m);
  });

  it('detects a flipped byte, naming the file', async () => {
    const d = await makeRun();
    await writeManifest(d);
    const f = join(d, 'model.safetensors');
    const b = readFileSync(f);
    b[100] ^= 0x01;
    writeFileSync(f, b);
    await expect(verifyManifest(d)).rejects.toMatchObject({ code: 'E_MANIFEST', message: expect.stringMatching(/model\.safetensors: sha256 differs/) });
  });

  it('detects missing, resized and (strict) unlisted files, and a missing manifest', async () => {
    const d = await makeRun();
    await writeManifest(d);
    writeFileSync(join(d, 'extra.txt'), 'x');
    await expect(verifyManifest(d)).resolves.toBeTruthy();
    await expect(verifyManifest(d, { strict: true })).rejects.toMatchObject({ code: 'E_MANIFEST', message: expect.stringMatching(/extra\.txt: file is not listed/) });
    writeFileSync(join(d, 'config.json'), '{}');
    await expect(verifyManifest(d)).rejects.toMatchObject({ message: expect.stringMatching(/config\.json: size is 2 bytes/) });
    await writeManifest(d);
    rmSync(join(d, 'eval', 'metrics.jsonl'));
    await expect(verifyManifest(d)).rejects.toMatchObject({ code: 'E_MANIFEST', message: expect.stringMatching(/eval\/metrics\.jsonl: file is missing/) });
    await expect(verifyManifest(fresh())).rejects.toMatchObject({ code: 'E_MANIFEST', message: expect.stringMatching(/no manifest/) });
  });

  it('rejectUnlisted refuses only the unlisted files it names; skip and require', async () => {
    const d = await makeRun();
    await writeManifest(d);
    writeFileSync(join(d, 'eval', 'report.html'), '<html></html>');
    await expect(verifyManifest(d, { rejectUnlisted: isModelArtefact })).resolves.toBeTruthy();
    writeFileSync(join(d, 'eval', 'model.onnx'), 'planted');
    await expect(verifyManifest(d, { rejectUnlisted: isModelArtefact })).rejects.toMatchObject({ code: 'E_UNLISTED_MODEL', message: expect.stringMatching(/eval\/model\.onnx: file is not listed/) });
    rmSync(join(d, 'eval', 'model.onnx'));
    rmSync(join(d, 'eval', 'metrics.jsonl'));
    await expect(verifyManifest(d)).rejects.toMatchObject({ message: expect.stringMatching(/metrics\.jsonl: file is missing/) });
    await expect(verifyManifest(d, { skip: (r) => r.startsWith('eval/') })).resolves.toBeTruthy();
    await expect(verifyManifest(d, { skip: (r) => r.startsWith('eval/'), require: ['weights.bin'] })).rejects.toMatchObject({ message: expect.stringMatching(/weights\.bin: not listed/) });
    expect(['a/b.safetensors', 'model.onnx', 'model.onnx.data', 'x/config.json', 'calibration.json'].every(isModelArtefact)).toBe(true);
    expect(['report.html', 'metrics.json', 'metrics.jsonl', 'data.csv'].some(isModelArtefact)).toBe(false);
  });

  it('addToManifest adds or refreshes only the named entries', async () => {
    const d = await makeRun();
    await writeManifest(d);
    writeFileSync(join(d, 'planted.onnx'), 'planted');
    await writeFileAtomic(join(d, 'model.onnx'), 'exported');
    const m = await addToManifest(d, ['model.onnx']);
    expect(m.files.map((f) => f.path)).toEqual(['config.json', 'eval/metrics.jsonl', 'model.onnx', 'model.safetensors']);
    await expect(verifyManifest(d)).resolves.toEqual(m);
    await writeFileAtomic(join(d, 'model.onnx'), 'exported again');
    await addToManifest(d, ['model.onnx']);
    await expect(verifyManifest(d)).resolves.toBeTruthy();
  });

  it('refuses entries that point outside the directory', async () => {
    const d = fresh();
    writeFileSync(join(d, 'manifest.json'), JSON.stringify({ version: 1, algorithm: 'sha256', files: [{ path: '../x', size: 0, sha256: '' }] }));
    await expect(verifyManifest(d)).rejects.toMatchObject({ code: 'E_MANIFEST', message: expect.stringMatching(/outside/) });
  });
});

describe('commitDirAtomic', () => {
  it('moves a built directory into place, replacing an old one without leftovers', async () => {
    const parent = fresh();
    const final = join(parent, 'run');
    const tmp1 = tempDirFor(final);
    expect(tmp1).toBe(`${final}.tmp-${process.pid}`);
    await writeFileAtomic(join(tmp1, 'a.txt'), 'one');
    await commitDirAtomic(tmp1, final);
    expect(readFileSync(join(final, 'a.txt'), 'utf8')).toBe('one');
    expect(readdirSync(parent)).toEqual(['run']);

    const tmp2 = tempDirFor(final);
    await writeFileAtomic(join(tmp2, 'b.txt'), 'two');
    await commitDirAtomic(tmp2, final);
    expect(readdirSync(final)).toEqual(['b.txt']);
    expect(readdirSync(parent)).toEqual(['run']);
  });

  it('puts the old directory aside under a given name, and removes it after the swap', async () => {
    const parent = fresh();
    const final = join(parent, 'ck');
    await writeFileAtomic(join(final, 'a.txt'), 'one');
    mkdirSync(join(parent, 'ck.old')); // a stale set from an earlier crash
    const tmp = tempDirFor(final);
    await writeFileAtomic(join(tmp, 'b.txt'), 'two');
    await commitDirAtomic(tmp, final, { aside: join(parent, 'ck.old') });
    expect(readdirSync(parent)).toEqual(['ck']);
    expect(readdirSync(final)).toEqual(['b.txt']);
  });

  it('fails cleanly when the temp directory does not exist', async () => {
    const parent = fresh();
    await expect(commitDirAtomic(join(parent, 'nope'), join(parent, 'run'))).rejects.toMatchObject({ code: 'E_FS' });
    expect(existsSync(join(parent, 'run'))).toBe(false);
  });
});
