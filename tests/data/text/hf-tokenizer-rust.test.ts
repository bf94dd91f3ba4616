/**
 * The reference implementation: Hugging Face's Rust `tokenizers` (through its Python binding) encodes our saved
 * tokenizer.json files and GPT-2-format files to exactly our ids, where the JS package and Oniguruma disagree too
 * (U+0085 / U+FEFF under GPT-2's `\s`, `ſ` in a `(?i:)` group, pieces longer than 256 code points).
 * Runs when SWITCHYARD_TEST_HF_PYTHON (or `python3`) imports `tokenizers`; skipped otherwise.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { byteChar } from '../../../src/data/text/byte-level.ts';
import { tokenizerFromHuggingFace, toHuggingFaceJSON } from '../../../src/data/text/hf-tokenizer.ts';
import { GPT2_PATTERN } from '../../../src/data/text/pretokenize.ts';
import { ByteTokenizer } from '../../../src/data/text/tokenizer.ts';
import {
  byteLevel, gpt2Format, HARD, LLAMA3_PATTERN, sotuBpe, splitThenByteLevel, WHITESPACE_PROBE, whitespaceProbe,
} from './hf-fixtures.ts';

const python = process.env.SWITCHYARD_TEST_HF_PYTHON ?? 'python3';
const hasRust = spawnSync(python, ['-c', 'import tokenizers'], { encoding: 'utf8' }).status === 0;

const SCRIPT = `
import json, sys
from tokenizers import Tokenizer
cases = json.load(open(sys.argv[1]))
out = {}
for name, c in cases.items():
    tok = Tokenizer.from_str(json.dumps(c["json"]))
    out[name] = [
        {"ids": tok.encode(t, add_special_tokens=False).ids, "text": tok.decode(ids, skip_special_tokens=False)}
        for t, ids in zip(c["texts"], c["ids"])
    ]
json.dump(out, open(sys.argv[2], "w"))
`;

describe.skipIf(!hasRust)('Rust tokenizers (reference)', () => {
  it('encodes our files and GPT-2-format files to our ids and decodes our ids to our text', async () => {
    const { ours, held } = await sotuBpe();
    const long = ` ${'-'.repeat(700)} ${'😀'.repeat(300)} ${'a'.repeat(600)}`;
    const texts = [
      held, HARD, 'a\u0085 b \ufeffc \u0085\u0085d\u0085', "it'ſx IT'Sx it'sx", long,
      'x<|endoftext|><|endoftext|> y', 'Cafe\u0301',
    ];
    const vocab: Record<string, number> = Object.fromEntries(Array.from({ length: 256 }, (_, b) => [byteChar(b), b]));
    const cases: Record<string, Record<string, unknown>> = {
      ours: toHuggingFaceJSON(ours),
      byte: toHuggingFaceJSON(new ByteTokenizer()),
      gpt2: gpt2Format(ours),
      prefixSpace: gpt2Format(ours, { pre_tokenizer: byteLevel(true) }),
      nfcIgnoreMerges: gpt2Format(ours, { normalizer: { type: 'NFC' } }, { ignore_merges: true }),
      llama3: gpt2Format(ours, { pre_tokenizer: splitThenByteLevel(LLAMA3_PATTERN) }, { ignore_merges: true }),
      lettersOnly: gpt2Format(ours, { pre_tokenizer: splitThenByteLevel(' ?\\p{L}+', 'Removed', true) }),
      gpt2AsSplit: gpt2Format(ours, { pre_tokenizer: splitThenByteLevel(GPT2_PATTERN) }),
      mergeBeforeMade: gpt2Format(ours, { added_tokens: [] }, {
        vocab: { ...vocab, ab: 256, aba: 257, abab: 258 }, merges: ['ab a', 'a b', 'ab ab'],
      }),
      // 'ſ' (bytes C5 BF) folds to 's' under (?i:): "'ſ" is a contraction piece, so no merge into "ſx"
      whitespaceProbe: whitespaceProbe(ours, byteLevel()),
      foldedContraction: gpt2Format(ours, { added_tokens: [], pre_tokenizer: splitThenByteLevel(LLAMA3_PATTERN) }, {
        vocab: { ...vocab, 'Å¿': 256, 'Å¿x': 257 }, merges: ['Å ¿', 'Å¿ x'],
      }),
    };
    texts.push('abab ababab abababx aab', WHITESPACE_PROBE);
    const mine = Object.fromEntries(Object.entries(cases).map(([name, json]) => {
      const tok = tokenizerFromHuggingFace(json);
      const ids = texts.map((t) => Array.from(tok.encode(t)));
      return [name, { json, texts, ids, decoded: ids.map((x) => tok.decode(x)) }];
    }));
    const dir = mkdtempSync(join(tmpdir(), 'sy-hf-rust-'));
    try {
      writeFileSync(join(dir, 'cases.json'), JSON.stringify(mine));
      const r = spawnSync(python, ['-c', SCRIPT, join(dir, 'cases.json'), join(dir, 'out.json')], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const theirs = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
      for (const [name, m] of Object.entries(mine)) {
        texts.forEach((t, i) => {
          expect(theirs[name][i].ids, `${name}: ${JSON.stringify(t.slice(0, 30))}`).toEqual(m.ids[i]);
          expect(theirs[name][i].text, `${name} decode: ${JSON.stringify(t.slice(0, 30))}`).toBe(m.decoded[i]);
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
