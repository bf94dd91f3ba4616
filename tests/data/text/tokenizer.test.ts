import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { trainBpe } from '../../../src/data/text/bpe.ts';
import { ByteTokenizer, createStreamDecoder, loadTokenizer, saveTokenizer, tokenizerFromJSON } from '../../../src/data/text/tokenizer.ts';
import { unicodeText } from './arbitraries.ts';
import type { Tokenizer } from '../../../src/data/text/tokenizer.ts';
import { SwitchyardError } from '../../../src/util/errors.ts';

const byte = new ByteTokenizer();

function streamAll(tok: Tokenizer, ids: ArrayLike<number>): string[] {
  const dec = createStreamDecoder(tok);
  const out = Array.from(ids, (id) => dec.push(id));
  out.push(dec.flush());
  return out;
}

describe('ByteTokenizer', () => {
  it('encodes UTF-8 bytes and round trips any well-formed string (property)', () => {
    expect([...byte.encode('aé😀')]).toEqual([0x61, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]);
    expect(byte.decode(byte.encode('\uFEFFbom kept'))).toBe('\uFEFFbom kept');
    fc.assert(
      fc.property(unicodeText(64), (s) => {
        const ids = byte.encode(s);
        expect(ids.every((v) => v >= 0 && v < 256)).toBe(true);
        expect(byte.decode(ids)).toBe(s);
      }),
    );
  });

  it('turns an incomplete character at the end into a replacement character', () => {
    const ids = byte.encode('ok😀');
    expect(byte.decode(ids.subarray(0, ids.length - 1))).toBe('ok\uFFFD');
    expect(byte.decode([0xff, 0x61])).toBe('\uFFFDa');
  });

  it('rejects ids outside 0..255', () => {
    expect(() => byte.decode([256])).toThrow(SwitchyardError);
    expect(() => byte.decode([-1])).toThrow(/outside/);
    expect(() => byte.tokenBytes(300)).toThrow(/E_TOKEN_RANGE|outside/);
  });
});

describe('createStreamDecoder', () => {
  it('holds back a 4-byte emoji until its last byte arrives', () => {
    expect(streamAll(byte, byte.encode('a😀b'))).toEqual(['a', '', '', '', '😀', 'b', '']);
  });

  it('flushes an incomplete character as U+FFFD and starts afresh', () => {
    const dec = createStreamDecoder(byte);
    expect(dec.push(0xf0)).toBe('');
    expect(dec.push(0x9f)).toBe('');
    expect(dec.flush()).toBe('\uFFFD');
    expect(dec.push(0x68)).toBe('h');
  });

  it('concatenates to decode(ids) for byte and BPE tokenizers on random strings (property)', () => {
    const bpe = trainBpe(['héllo wörld 😀😀 日本語の文章 ' .repeat(20)], 300, { minFrequency: 1 });
    fc.assert(
      fc.property(unicodeText(40), fc.nat(10), (s, cut) => {
        for (const tok of [byte, bpe] as Tokenizer[]) {
          const ids = tok.encode(s);
          expect(streamAll(tok, ids).join('')).toBe(s);
          const part = ids.subarray(0, Math.max(0, ids.length - cut));
          expect(streamAll(tok, part).join('')).toBe(tok.decode(part));
        }
      }),
    );
  });
});

describe('tokenizer JSON', () => {
  it('round trips byte and BPE tokenizers through JSON and files', async () => {
    const bpe = trainBpe(['the cat sat on the mat, the end'], 270, { minFrequency: 1 });
    for (const tok of [byte, bpe] as Tokenizer[]) {
      const again = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
      expect(again.kind).toBe(tok.kind);
      expect(again.vocabSize).toBe(tok.vocabSize);
      expect([...again.encode('the cat, the mat')]).toEqual([...tok.encode('the cat, the mat')]);
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'sy-tok-'));
    try {
      const file = path.join(dir, 'tokenizer.json');
      await saveTokenizer(file, bpe);
      const loaded = await loadTokenizer(file);
      expect(loaded.toJSON()).toEqual(bpe.toJSON());
      writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ kind: 'bpe', version: 1, vocabSize: 257, pretokenizer: 'switchyard-v1', merges: [[300, 1]] }));
      await expect(loadTokenizer(path.join(dir, 'bad.json'))).rejects.toThrow(/bad\.json: .*merge 0/);
      await expect(loadTokenizer(path.join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'E_FILE_NOT_FOUND' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects unknown kinds and inconsistent BPE descriptions', () => {
    expect(() => tokenizerFromJSON({ kind: 'wordpiece' })).toThrow(/unknown kind/);
    expect(() => tokenizerFromJSON(null)).toThrow(SwitchyardError);
    const ok = { kind: 'bpe', version: 1, vocabSize: 257, pretokenizer: 'switchyard-v1', merges: [[116, 104]] };
    expect(tokenizerFromJSON(ok).vocabSize).toBe(257);
    expect(() => tokenizerFromJSON({ ...ok, vocabSize: 300 })).toThrow(/vocabSize/);
    expect(() => tokenizerFromJSON({ ...ok, pretokenizer: 'gpt2' })).toThrow(/pre-tokenizer/);
    expect(() => tokenizerFromJSON({ ...ok, vocabSize: 258, merges: [[116, 104], [116, 104]] })).toThrow(/repeats/);
  });
});
