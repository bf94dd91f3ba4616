import { describe, expect, it } from 'vitest';
import { exactJaccard } from '../../src/audit/minhash.ts';
import { crossSplitMatches, findCrossSplitNearDuplicates, findNearDuplicateText, nearDuplicateClusters, type NearDupCluster } from '../../src/audit/near-duplicates.ts';
import { Shingler } from '../../src/audit/text-normalize.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

const VOCAB = Array.from({ length: 4000 }, (_, i) => `${'bcdfghklmnprstvz'[i % 16]}${'aeiou'[(i >> 4) % 5]}${(i >> 6).toString(36)}${'aeiouy'[i % 6]}`);

function randomDoc(rng: Rng, words: number): string[] {
  return Array.from({ length: words }, () => VOCAB[rng.int(VOCAB.length)]);
}

/** A copy of `words` with `subs` words replaced at random positions (distinct positions). */
function edit(rng: Rng, words: string[], subs: number): string[] {
  const out = [...words];
  const pos = rng.shuffle(Array.from({ length: words.length }, (_, i) => i)).slice(0, subs);
  for (const p of pos) out[p] = `q${rng.nextU32().toString(36)}`;
  return out;
}

const shingler = new Shingler();
const jaccard = (a: string, b: string) => exactJaccard(shingler.hashes(a).slice(), shingler.hashes(b));

function sameCluster(clusters: NearDupCluster[], a: number, b: number): boolean {
  return clusters.some((c) => c.rows.includes(a) && c.rows.includes(b));
}

describe('near-duplicate clusters within a split', () => {
  // 2,000 distinct documents, then 300 edited copies of the first 300 with 1-5 substituted words.
  const rng = new Rng(11);
  const words = Array.from({ length: 2000 }, () => randomDoc(rng, 25 + rng.int(20)));
  const docs = words.map((w) => w.join(' '));
  const planted: { src: number; copy: number; j: number }[] = [];
  for (let i = 0; i < 300; i++) {
    const copy = edit(rng, words[i], [1, 1, 1, 2, 3, 5][i % 6]);
    // Case, spacing and line breaks differ too: normalisation must absorb them.
    const text = i % 3 === 0 ? copy.join('  ').toUpperCase() : i % 3 === 1 ? copy.join('\n') : copy.join(' ');
    planted.push({ src: i, copy: docs.length, j: jaccard(docs[i], text) });
    docs.push(text);
  }
  const { clusters, settings } = nearDuplicateClusters(docs);

  it('finds the planted pairs at or above the threshold (recall) and only those (precision)', () => {
    const above = planted.filter((p) => p.j >= 0.8);
    const below = planted.filter((p) => p.j < 0.8);
    expect(above.length).toBeGreaterThan(100);
    expect(below.length).toBeGreaterThan(50);
    const found = above.filter((p) => sameCluster(clusters, p.src, p.copy)).length;
    expect(found / above.length).toBeGreaterThanOrEqual(0.97);
    const high = above.filter((p) => p.j >= 0.9);
    expect(high.every((p) => sameCluster(clusters, p.src, p.copy))).toBe(true);
    // Candidates are verified exactly: a pair below the threshold is never reported.
    expect(below.some((p) => sameCluster(clusters, p.src, p.copy))).toBe(false);
    for (const c of clusters) {
      expect(c.rows).toHaveLength(2);
      expect(planted.some((p) => p.src === c.rows[0] && p.copy === c.rows[1])).toBe(true);
      expect(c.jaccard).toBeCloseTo(jaccard(docs[c.rows[0]], docs[c.rows[1]]), 12);
      expect(c.jaccard).toBeGreaterThanOrEqual(0.8);
    }
    expect(settings).toMatchObject({ unit: 'char', shingle: 5, permutations: 128, threshold: 0.8 });
  });

  it('reports the finding with clusters, evidence rows and a score equal to the share of rows involved', () => {
    const [f] = findNearDuplicateText(docs, { split: 'train', column: 'body' });
    const involved = clusters.reduce((a, c) => a + c.rows.length, 0);
    expect(f.check).toBe('duplicates.near-text');
    expect(f.split).toBe('train');
    expect(f.column).toBe('body');
    expect(f.score).toBeCloseTo(involved / docs.length, 12);
    expect(f.severity).toBe('error'); // > 10% of rows
    expect(f.evidence.rows).toHaveLength(50);
    expect(f.evidence.rows!.slice(0, 2)).toEqual(clusters[0].rows);
    const d = f.details as { clusters: NearDupCluster[]; clusterCount: number; rowsInvolved: number };
    expect(d.clusterCount).toBe(clusters.length);
    expect(d.rowsInvolved).toBe(involved);
    expect(d.clusters[0].preview.length).toBeGreaterThan(20);
    expect(f.message).toMatch(new RegExp(`^${involved} of 2,300 text rows .* in column body of the train split\\.$`));
  });

  it('stays quiet on distinct random text', () => {
    expect(nearDuplicateClusters(docs.slice(0, 2000)).clusters).toEqual([]);
    expect(findNearDuplicateText(docs.slice(0, 2000))).toEqual([]);
  });

  it('grades severity by the share of rows involved', () => {
    const few = [...docs.slice(0, 2000), docs[5]]; // one exact copy among 2,001 rows: 0.1%
    const [f] = findNearDuplicateText(few);
    expect(f.severity).toBe('info');
    expect((f.details as { clusters: NearDupCluster[] }).clusters).toEqual([{ rows: [5, 2000], jaccard: 1, preview: expect.any(String) }]);
    const some = [...docs.slice(0, 2000), ...docs.slice(0, 20)]; // 40 of 2,020 rows: 2%
    expect(findNearDuplicateText(some)[0].severity).toBe('warn');
  });
});

describe('near-duplicate clustering details', () => {
  it('joins a chain A~B~C into one cluster even when A and C are below the threshold', () => {
    const rng = new Rng(5);
    const a = randomDoc(rng, 60);
    const b = edit(rng, a, 2);
    const c = [...b];
    c[a.findIndex((w, i) => w === b[i])] = 'zzzzzz';
    c[b.length - 1 - [...a].reverse().findIndex((w, i) => w === b[b.length - 1 - i])] = 'yyyyyy';
    const [sa, sb, sc] = [a, b, c].map((w) => w.join(' '));
    const t = 0.88;
    expect(jaccard(sa, sb)).toBeGreaterThanOrEqual(t);
    expect(jaccard(sb, sc)).toBeGreaterThanOrEqual(t);
    expect(jaccard(sa, sc)).toBeLessThan(t);
    const noise = Array.from({ length: 50 }, () => randomDoc(rng, 60).join(' '));
    const { clusters } = nearDuplicateClusters([sa, ...noise, sb, sc], { threshold: t });
    expect(clusters.map((x) => x.rows)).toEqual([[0, 51, 52]]);
    expect(clusters[0].jaccard).toBeCloseTo(Math.min(jaccard(sa, sb), jaccard(sb, sc)), 12);
  });

  it('clusters hundreds of identical documents and ignores empty ones', () => {
    const rng = new Rng(9);
    const same = randomDoc(rng, 30).join(' ');
    const docs = [...Array.from({ length: 300 }, () => same), ...Array.from({ length: 100 }, () => ''), ...Array.from({ length: 100 }, () => randomDoc(rng, 30).join(' '))];
    const { clusters, candidatePairs } = nearDuplicateClusters(docs);
    expect(clusters.map((c) => c.rows.length)).toEqual([300]);
    expect(candidatePairs).toBeLessThan(1000); // already-joined members are not compared again
  });

  it('works on word shingles and with punctuation stripped', () => {
    const rng = new Rng(21);
    const a = randomDoc(rng, 80);
    const b = edit(rng, a, 2);
    const docs = [a.join(' '), ...Array.from({ length: 30 }, () => randomDoc(rng, 80).join(' ')), b.join(', ') + '!!!'];
    expect(nearDuplicateClusters(docs, { unit: 'word', shingle: 2, threshold: 0.85, stripPunctuation: true }).clusters.map((c) => c.rows)).toEqual([[0, 31]]);
    // Without stripping, the commas change every word 2-gram's second word form: no longer similar.
    expect(nearDuplicateClusters(docs, { unit: 'word', shingle: 2, threshold: 0.85 }).clusters).toEqual([]);
  });

  it('handles empty inputs and reports progress', () => {
    expect(findNearDuplicateText([])).toEqual([]);
    expect(findCrossSplitNearDuplicates([], ['a b c d e f'])).toEqual([]);
    expect(findCrossSplitNearDuplicates(['a b c d e f'], [])).toEqual([]);
    const calls: [number, number][] = [];
    const docs = Array.from({ length: 2100 }, (_, i) => `document number ${i} of the progress test`);
    nearDuplicateClusters(docs, { onProgress: (d, t) => calls.push([d, t]) });
    expect(calls).toEqual([[1024, 2100], [2048, 2100], [2100, 2100]]);
  });

  it('rejects bad options with a clear error', () => {
    expectCode(() => nearDuplicateClusters(['a'], { threshold: 1.5 }), 'E_NEARDUP_OPTION', /threshold 1.5/);
    expectCode(() => nearDuplicateClusters(['a'], { shingle: 0 }), 'E_NEARDUP_OPTION', /shingle size 0/);
    expectCode(() => nearDuplicateClusters(['a'], { permutations: 1 }), 'E_NEARDUP_OPTION', /1 permutations/);
  });
});

describe('near-duplicates across train and test', () => {
  const rng = new Rng(77);
  const train = Array.from({ length: 1500 }, () => randomDoc(rng, 20 + rng.int(30)));
  const trainText = train.map((w) => w.join(' '));
  const entries: { text: string; src: number }[] = Array.from({ length: 470 }, () => ({ text: randomDoc(rng, 20 + rng.int(30)).join(' '), src: -1 }));
  // Twin near-copies inside the test split only: not leakage.
  entries.push({ text: entries[0].text + ' extra', src: -1 });
  for (let i = 0; i < 30; i++) {
    const src = 40 * i;
    entries.push({ text: i < 5 ? trainText[src] : edit(rng, train[src], 1).join(' '), src });
  }
  rng.shuffle(entries);
  const test = entries.map((e) => e.text);
  const leaked = new Map<number, number>();
  entries.forEach((e, i) => {
    if (e.src >= 0 && jaccard(trainText[e.src], e.text) >= 0.8) leaked.set(i, e.src);
  });

  it('flags every test row that nearly copies a training row, naming the training row', () => {
    expect(leaked.size).toBeGreaterThanOrEqual(28);
    const { matches } = crossSplitMatches(trainText, test);
    expect(matches.map((m) => m.test)).toEqual([...leaked.keys()].sort((a, b) => a - b));
    for (const m of matches) {
      expect(m.train[0]).toBe(leaked.get(m.test));
      expect(m.jaccard).toBeCloseTo(jaccard(trainText[m.train[0]], test[m.test]), 12);
    }
    const [f] = findCrossSplitNearDuplicates(trainText, test, { column: 'text' });
    expect(f.check).toBe('leakage.near-duplicate');
    expect(f.split).toBe('test');
    expect(f.severity).toBe('error');
    expect(f.score).toBeCloseTo(leaked.size / test.length, 12);
    expect(f.evidence.rows).toEqual(matches.map((m) => m.test));
    expect(f.message).toMatch(new RegExp(`^${leaked.size} of ${test.length} test rows`));
  });

  it('stays quiet when the test split shares nothing with training', () => {
    const clean = test.filter((_, i) => !leaked.has(i));
    expect(findCrossSplitNearDuplicates(trainText, clean)).toEqual([]);
  });
});
