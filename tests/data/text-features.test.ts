import { describe, expect, it } from 'vitest';
import { parseCsv, type Table } from '../../src/data/csv.ts';
import { inferSchema } from '../../src/data/schema.ts';
import { fitTabularEncoder, TabularEncoder } from '../../src/data/tabular.ts';
import { fitTextFeature, TextHasher, tokenizeText, type TextFeature } from '../../src/data/text-features.ts';
import { expectCode } from '../expect-error.ts';

const csv = (text: string, file = 'train.csv'): Table => parseCsv(text, { file });

/** The bucket a single word hashes to (unigrams only). */
function bucketOf(word: string, buckets: number): number {
  const h = new TextHasher({ buckets, wordNgrams: 1 });
  const counts = new Float32Array(buckets);
  expect(h.count(word, counts, 0)).toBe(1);
  return h.touched[0];
}

describe('tokenizeText', () => {
  it('lower-cases and splits at anything but Unicode letters, marks and digits', () => {
    expect(tokenizeText("Don't STOP — Ünïcode 2024!")).toEqual(['don', 't', 'stop', 'ünïcode', '2024']);
    expect(tokenizeText('naïve café—ΑΒΓ δ_e\tMüller')).toEqual(['naïve', 'café', 'αβγ', 'δ', 'e', 'müller']);
    expect(tokenizeText('日本語テキスト 😀 𝒳y')).toEqual(['日本語テキスト', '𝒳y']);
    expect(tokenizeText('  ...  ')).toEqual([]);
  });
});

describe('hashed text features', () => {
  it('hash deterministically: pinned buckets, and the same counts on every call', () => {
    // Pinned: a change of the hash would silently change every saved text model.
    expect([bucketOf('cat', 1024), bucketOf('free', 1024), bucketOf('money', 1 << 16)]).toEqual([PIN.cat, PIN.free, PIN.money]);
    const h = new TextHasher({ buckets: 64, wordNgrams: 2, charNgrams: [3, 4] });
    const a = new Float32Array(64);
    const b = new Float32Array(64);
    h.count('Win FREE money now, free!', a, 0);
    h.count('win free MONEY now free', b, 0);
    expect(Array.from(a)).toEqual(Array.from(b));
    // unigrams: 5 words; bigrams: 4; char 3/4-grams of <win>,<free>,<money>,<now>,<free>: 3+2 + 4+3 + 5+4 + 3+2 + 4+3
    expect(a.reduce((s, v) => s + v, 0)).toBe(5 + 4 + 33);
  });

  it('compute IDF and L2-normalised log1p tf by hand', () => {
    const B = 1 << 16;
    const [ba, bb, bc] = ['a', 'b', 'c'].map((w) => bucketOf(w, B));
    expect(new Set([ba, bb, bc]).size).toBe(3);
    const t = csv(['txt,y', 'a b,0', 'A a c,1', ',0'].join('\n'));
    const f = fitTextFeature(t, { name: 'txt', index: 0 }, { textBuckets: B, textWordNgrams: 1 });
    expect(f.documents).toBe(3);
    const idf = (df: number) => Math.log(4 / (1 + df)) + 1;
    expect(f.idf[ba]).toBeCloseTo(idf(2), 12);
    expect(f.idf[bb]).toBeCloseTo(idf(1), 12);
    expect(f.idf[bc]).toBeCloseTo(idf(1), 12);
    expect(f.idf[(ba + 1) % B === bb ? ba + 2 : ba + 1]).toBeCloseTo(idf(0), 12);

    const enc = fitTabularEncoder(t, inferSchema(t, { txt: 'text' }), 'y', 'auto', { textBuckets: B, textWordNgrams: 1 });
    const { x, features } = enc.encode(t);
    expect(features).toBe(B);
    const row = (r: number) => x.subarray(r * B, (r + 1) * B);
    const r0 = [Math.log1p(1) * idf(2), Math.log1p(1) * idf(1)];
    const n0 = Math.hypot(...r0);
    expect(row(0)[ba]).toBeCloseTo(r0[0] / n0, 6);
    expect(row(0)[bb]).toBeCloseTo(r0[1] / n0, 6);
    const r1 = [Math.log1p(2) * idf(2), Math.log1p(1) * idf(1)];
    const n1 = Math.hypot(...r1);
    expect(row(1)[ba]).toBeCloseTo(r1[0] / n1, 6);
    expect(row(1)[bc]).toBeCloseTo(r1[1] / n1, 6);
    expect(row(0).filter((v) => v !== 0).length).toBe(2);
    expect(row(1).filter((v) => v !== 0).length).toBe(2);
    expect(row(2).every((v) => v === 0)).toBe(true); // missing text: all zeros
  });

  it('fit the IDF on the given training rows only', () => {
    const t = csv(['txt,y', 'spam spam,1', 'ham,0', 'spam eggs,1'].join('\n'));
    const all = fitTextFeature(t, { name: 'txt', index: 0 }, { textBuckets: 256 });
    const some = fitTextFeature(t, { name: 'txt', index: 0 }, { textBuckets: 256, textFitRows: Int32Array.of(1) });
    const s = bucketOf('spam', 256);
    expect(all.documents).toBe(3);
    expect(some.documents).toBe(1);
    expect(all.idf[s]).toBeCloseTo(Math.log(4 / 3) + 1, 12);
    expect(some.idf[s]).toBeCloseTo(Math.log(2 / 1) + 1, 12);
  });
});

const MAIL = csv(
  [
    'id,subject,body,size,label',
    ...Array.from({ length: 30 }, (_, i) =>
      i % 2
        ? `m${i},Meeting notes ${i},"Hi team, attached are the notes from meeting number ${i}. See you tomorrow.",${i},ham`
        : `m${i},WIN money ${i},"Claim your FREE prize number ${i} now! Click here to win cash today.",${i * 3},spam`,
    ),
  ].join('\n'),
);

describe('text columns in the tabular encoder', () => {
  const schema = inferSchema(MAIL);
  const enc = fitTabularEncoder(MAIL, schema, 'label', 'auto', { textBuckets: 128 });

  it('become features when inferred as text; identifiers stay dropped; --columns forces text', () => {
    expect(schema.columns.find((c) => c.name === 'body')!.kind).toBe('text');
    expect(enc.specs.map((s) => `${s.column}:${s.kind}`)).toEqual(['body:text', 'size:numeric']);
    expect(enc.dropped.map((d) => `${d.column}:${d.kind}`)).toEqual(['id:identifier', 'subject:identifier']);
    expect(enc.featureNames.filter((n) => n.startsWith('body#'))).toHaveLength(128);
    const forced = fitTabularEncoder(MAIL, inferSchema(MAIL, { subject: 'text' }), 'label', 'auto', { textBuckets: 64 });
    expect(forced.specs.find((s) => s.column === 'subject')!.kind).toBe('text');
    expect(forced.numFeatures).toBe(64 + 64 + 1); // subject, body, size
  });

  it('encode every row to unit L2 norm per text column, the same way twice', () => {
    const a = enc.encode(MAIL);
    const b = enc.encode(MAIL);
    expect(a.x).toEqual(b.x);
    const off = enc.featureNames.indexOf('body#0');
    for (let r = 0; r < a.rows; r++) {
      let ss = 0;
      for (let k = 0; k < 128; k++) ss += a.x[r * a.features + off + k] ** 2;
      expect(ss).toBeCloseTo(1, 5);
    }
  });

  it('round-trip through toJSON/fromJSON to the same transform', () => {
    const json = JSON.parse(JSON.stringify(enc));
    const again = TabularEncoder.fromJSON(json);
    expect(JSON.stringify(again)).toBe(JSON.stringify(enc));
    expect(again.encode(MAIL).x).toEqual(enc.encode(MAIL).x);
    const text = json.features.find((f: TextFeature) => f.kind === 'text') as TextFeature;
    expect(text).toMatchObject({ kind: 'text', column: 'body', buckets: 128, wordNgrams: 2, documents: 30 });
  });

  it('reject a damaged text feature', () => {
    const json = JSON.parse(JSON.stringify(enc));
    const k = json.features.findIndex((f: TextFeature) => f.kind === 'text');
    json.features[k].idf = json.features[k].idf.slice(1);
    expectCode(() => TabularEncoder.fromJSON(json), 'E_ENCODER_FORMAT', new RegExp(`features\\[${k}\\]: text idf must be 128 numbers`));
    json.features[k].buckets = 0;
    expectCode(() => TabularEncoder.fromJSON(json), 'E_ENCODER_FORMAT', /buckets/);
    expectCode(() => fitTabularEncoder(MAIL, schema, 'label', 'auto', { textBuckets: 0 }), 'E_CONFIG', /'body': 0 hash buckets/);
  });

  it('still load an encoder saved before text features existed', () => {
    // The exact shape a run's config.json held before this change (text columns were dropped).
    const old = {
      format: 'switchyard.tabular-encoder', version: 1,
      target: { column: 'label', task: 'classification', classes: ['ham', 'spam'] },
      features: [
        { kind: 'categorical', column: 'subject', categories: ['Meeting notes 1'], missingBucket: false },
        { kind: 'numeric', column: 'size', mean: 20, std: 10, missingIndicator: false },
      ],
      dropped: [{ column: 'id', kind: 'identifier', reason: 'identifier column' }, { column: 'body', kind: 'text', reason: 'text column (free text)' }],
    };
    const e = TabularEncoder.fromJSON(old);
    expect(e.featureNames).toEqual(['subject=Meeting notes 1', 'subject=__other__', 'size']);
    const { x, y } = e.encode(MAIL);
    expect(Array.from(x.subarray(0, 6))).toEqual([0, 1, -2, 1, 0, Math.fround(-1.9)]);
    expect(y![0]).toBe(1);
  });

  it('hash character n-grams when asked', () => {
    const c = fitTabularEncoder(MAIL, schema, 'label', 'auto', { textBuckets: 256, textCharNgrams: [3, 5] });
    const spec = c.specs.find((s) => s.kind === 'text') as TextFeature;
    expect(spec.charNgrams).toEqual([3, 5]);
    const off = c.featureNames.indexOf('body#0');
    const nz = (e: TabularEncoder, o: number, w: number) => Array.from(e.encode(MAIL).x.subarray(o, o + w)).filter((v) => v !== 0).length;
    expect(nz(c, off, 256)).toBeGreaterThan(nz(enc, enc.featureNames.indexOf('body#0'), 128) * 2);
  });
});

const PIN = { cat: 893, free: 676, money: 21764 };
