import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTextCorpus, sotuPath, splitDocuments } from '../../../src/data/text/corpus.ts';
import { firstInvalidUtf8 } from '../../../src/data/text/bytes.ts';
import { SwitchyardError } from '../../../src/util/errors.ts';
import { Rng } from '../../../src/util/rng.ts';

let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'sy-corpus-'));
  mkdirSync(path.join(root, 'books', 'b', 'deep'), { recursive: true });
  mkdirSync(path.join(root, 'books', 'a'), { recursive: true });
  mkdirSync(path.join(root, 'books', '.hidden'), { recursive: true });
  writeFileSync(path.join(root, 'books', 'z.txt'), 'zed');
  writeFileSync(path.join(root, 'books', 'a', '2.md'), '# two');
  writeFileSync(path.join(root, 'books', 'a', '1.txt'), 'one é');
  writeFileSync(path.join(root, 'books', 'b', 'deep', 'x.TXT'), 'deep 😀');
  writeFileSync(path.join(root, 'books', 'b', 'skip.json'), '{}');
  writeFileSync(path.join(root, 'books', '.hidden', 'h.txt'), 'hidden');
  writeFileSync(path.join(root, 'bom.txt'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('hi')]));
  writeFileSync(path.join(root, 'data.csv'), 'a,b\n1,2\n');
  mkdirSync(path.join(root, 'empty', 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'empty', 'sub', 'notes.json'), '{}');
  writeFileSync(path.join(root, 'latin1.txt'), Buffer.concat([Buffer.from('line one\ncaf'), Buffer.from([0xe9]), Buffer.from('\n')]));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function codeOf(p: Promise<unknown>): Promise<SwitchyardError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SwitchyardError);
  return err as SwitchyardError;
}

describe('loadTextCorpus', () => {
  it('reads nested folders recursively in sorted order, filtering by extension', async () => {
    const c = await loadTextCorpus([path.join(root, 'books')]);
    const rel = c.documents.map((d) => path.relative(root, d.path).split(path.sep).join('/'));
    expect(rel).toEqual(['books/a/1.txt', 'books/a/2.md', 'books/b/deep/x.TXT', 'books/z.txt']);
    expect(c.documents.map((d) => d.text)).toEqual(['one é', '# two', 'deep 😀', 'zed']);
    expect(c.bytes).toBe(Buffer.byteLength('one é# twodeep 😀zed'));
  });

  it('takes files named directly whatever their extension, keeps argument order, reads each file once', async () => {
    const csv = path.join(root, 'data.csv');
    const z = path.join(root, 'books', 'z.txt');
    const c = await loadTextCorpus([csv, path.join(root, 'books'), z]);
    expect(c.documents.map((d) => path.basename(d.path))).toEqual(['data.csv', '1.txt', '2.md', 'x.TXT', 'z.txt']);
  });

  it('honours extensions and maxBytes (cut at a character boundary), and strips a byte order mark', async () => {
    const md = await loadTextCorpus([path.join(root, 'books')], { extensions: ['.md'] });
    expect(md.documents.map((d) => d.text)).toEqual(['# two']);
    const capped = await loadTextCorpus([path.join(root, 'books')], { maxBytes: 5 });
    expect(capped.documents.map((d) => d.text)).toEqual(['one ']); // 'é' is 2 bytes and would cross 5
    expect(capped.bytes).toBe(4);
    const bom = await loadTextCorpus([path.join(root, 'bom.txt')]);
    expect(bom.documents[0].text).toBe('hi');
    expect(bom.bytes).toBe(2);
  });

  it('reports a missing path, a folder without text files, and non-UTF-8 bytes with their offset', async () => {
    const missing = path.join(root, 'nope');
    const e1 = await codeOf(loadTextCorpus([missing]));
    expect(e1.code).toBe('E_FILE_NOT_FOUND');
    expect(e1.message).toContain(missing);
    const e2 = await codeOf(loadTextCorpus([path.join(root, 'empty')]));
    expect(e2.code).toBe('E_CORPUS_EMPTY');
    expect(e2.message).toContain('empty');
    const e3 = await codeOf(loadTextCorpus([path.join(root, 'latin1.txt')]));
    expect(e3.code).toBe('E_TEXT_ENCODING');
    expect(e3.message).toContain('latin1.txt');
    expect(e3.message).toContain('latin1.txt:2: byte 12 (0x');
    expect(e3.hint).toMatch(/UTF-8/);
  });
});

describe('firstInvalidUtf8', () => {
  it('finds the first bad byte, including overlong, surrogate and truncated forms', () => {
    expect(firstInvalidUtf8(Buffer.from('ok é 😀'))).toBe(-1);
    expect(firstInvalidUtf8(Uint8Array.of(0x61, 0xc0, 0x80))).toBe(1); // overlong
    expect(firstInvalidUtf8(Uint8Array.of(0xed, 0xa0, 0x80))).toBe(0); // surrogate
    expect(firstInvalidUtf8(Uint8Array.of(0x61, 0x62, 0xf0, 0x9f))).toBe(2); // truncated at the end
    expect(firstInvalidUtf8(Uint8Array.of(0xf4, 0x90, 0x80, 0x80))).toBe(0); // above U+10FFFF
  });
});

describe('State of the Union corpus', () => {
  it('is found from the working directory and from elsewhere, and loads ~230 speeches', async () => {
    const dir = sotuPath();
    expect(dir).not.toBeNull();
    expect(sotuPath(tmpdir())).toBe(dir); // falls back to searching from the module's folder
    const c = await loadTextCorpus([dir!]);
    expect(c.documents.length).toBeGreaterThanOrEqual(220);
    expect(path.basename(c.documents[0].path)).toBe('1790_george_washington_n.txt');
    expect(c.bytes).toBeGreaterThan(10_000_000);
    expect(c.documents.every((d) => d.path.endsWith('.txt'))).toBe(true);
  });
});

describe('splitDocuments', () => {
  const corpus = { documents: Array.from({ length: 10 }, (_, i) => ({ path: `d${i}`, text: 'x'.repeat(i + 1) })), bytes: 55 };

  it('partitions documents, keeps their order and recounts bytes, deterministically', () => {
    const s = splitDocuments(corpus, 0.2, new Rng(3));
    expect(s.valid.documents.length).toBe(2);
    expect(s.train.documents.length).toBe(8);
    const names = [...s.train.documents, ...s.valid.documents].map((d) => d.path).sort();
    expect(names).toEqual(corpus.documents.map((d) => d.path).sort());
    const idx = (docs: { path: string }[]) => docs.map((d) => Number(d.path.slice(1)));
    expect(idx(s.train.documents)).toEqual([...idx(s.train.documents)].sort((a, b) => a - b));
    expect(s.train.bytes + s.valid.bytes).toBe(55);
    expect(splitDocuments(corpus, 0.2, new Rng(3))).toEqual(s);
  });

  it('puts at least one document on each side when there are two', () => {
    const two = { documents: corpus.documents.slice(0, 2), bytes: 3 };
    for (const f of [0.01, 0.5, 0.99]) {
      const s = splitDocuments(two, f, new Rng(1));
      expect([s.train.documents.length, s.valid.documents.length]).toEqual([1, 1]);
    }
  });
});
