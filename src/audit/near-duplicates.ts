/**
 * Near-duplicate text with MinHash + LSH: clusters of near-copies within one split (`duplicates.near-text`)
 * and test rows that nearly copy a training row (`leakage.near-duplicate`).
 *
 * Every document is normalised and shingled (character 5-grams by default), signed with `k` MinHash functions
 * (128 by default) and banded for LSH with the layout that minimises weighted false-positive and
 * false-negative areas at the Jaccard threshold (0.8 by default). Candidates from shared buckets are verified
 * with the exact Jaccard of their 32-bit shingle-hash sets, so a reported pair is always at or above the
 * threshold; what LSH can miss is a pair it never proposed (probability `(1 - J^rows)^bands`, under 3% at
 * the threshold with the default recall-leaning weights). Empty documents are skipped.
 */
import { SwitchyardError } from '../util/errors.ts';
import { bandKeys, exactJaccard, forEachBucket, minhashSeeds, minhashSignature, optimalBands, UnionFind } from './minhash.ts';
import { Shingler } from './text-normalize.ts';
import { MAX_EVIDENCE_ROWS, type Finding, type Severity } from './types.ts';

/**
 * Options of the near-duplicate search.
 *
 * @example
 * const opts: NearDupOptions = { unit: 'word', shingle: 3, threshold: 0.7, permutations: 256 };
 */
export interface NearDupOptions {
  /** Shingle length in `unit`s. Default 5 characters, or 3 words. */
  shingle?: number;
  /** Character k-grams or word n-grams. Default `char`. */
  unit?: 'char' | 'word';
  /** Number of MinHash functions. Default 128. */
  permutations?: number;
  /** Jaccard similarity at or above which two documents are near-duplicates. Default 0.8. */
  threshold?: number;
  /** Seed of the MinHash functions. Default 1. */
  seed?: number;
  /** Replace punctuation with spaces before shingling (case and whitespace are always folded). Default false. */
  stripPunctuation?: boolean;
  /**
   * Weights of the false-positive and false-negative areas when choosing bands x rows. Default
   * `{ fp: 0.1, fn: 0.9 }`: candidates are verified exactly, so a false positive only costs time while a false
   * negative is a missed duplicate (datasketch's own default is 0.5 / 0.5, which finds only 40% of pairs at J = 0.8).
   */
  weights?: { fp: number; fn: number };
  /** At most this many members of one bucket are compared with each member (guards against giant buckets). Default 64. */
  maxBucketCompare?: number;
  /** Called with (documents signed, total) every 1,024 documents and at the end, e.g. to drive a `Progress` bar. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * A group of documents joined by verified near-duplicate pairs.
 *
 * @example
 * { rows: [3, 17, 940], jaccard: 0.86, preview: 'Dear friend, we are a 14 year old fortune 500 company…' }
 */
export interface NearDupCluster {
  /** Document indices, ascending. */
  rows: number[];
  /** The lowest exact Jaccard among the verified pairs that joined the cluster. */
  jaccard: number;
  /** The start of the first document, whitespace collapsed. */
  preview: string;
}

/**
 * The settings a search ran with, reported in finding details.
 *
 * @example
 * { unit: 'char', shingle: 5, permutations: 128, threshold: 0.8, bands: 14, rows: 9 }
 */
export interface NearDupSettings {
  unit: 'char' | 'word';
  shingle: number;
  permutations: number;
  threshold: number;
  bands: number;
  rows: number;
}

const PREVIEW_CHARS = 120;
/** Clusters listed in a finding's details (the count is always given). */
const MAX_CLUSTERS = 100;
/** Share of rows at or above which a within-split finding is a `warn`, and an `error`. */
const WITHIN_WARN = 0.01;
const WITHIN_ERROR = 0.1;
/** Share of test rows at or above which a leakage finding is an `error` (any leaked row is a `warn`). */
const LEAK_ERROR = 0.01;

function settingsOf(opts: NearDupOptions): NearDupSettings & { seed: number; weights: { fp: number; fn: number }; stripPunctuation: boolean } {
  const unit = opts.unit ?? 'char';
  const shingle = opts.shingle ?? (unit === 'char' ? 5 : 3);
  const permutations = opts.permutations ?? 128;
  const threshold = opts.threshold ?? 0.8;
  if (!(Number.isInteger(shingle) && shingle >= 1)) throw new SwitchyardError('E_NEARDUP_OPTION', `near-duplicates: shingle size ${shingle} is not a positive integer`, 'use e.g. 5 for characters or 3 for words');
  if (!(Number.isInteger(permutations) && permutations >= 2 && permutations <= 4096)) throw new SwitchyardError('E_NEARDUP_OPTION', `near-duplicates: ${permutations} permutations is outside 2..4096`, 'the default is 128');
  if (!(threshold > 0 && threshold <= 1)) throw new SwitchyardError('E_NEARDUP_OPTION', `near-duplicates: Jaccard threshold ${threshold} is outside (0, 1]`, 'the default is 0.8');
  const weights = opts.weights ?? { fp: 0.1, fn: 0.9 };
  return { unit, shingle, permutations, threshold, seed: opts.seed ?? 1, weights, stripPunctuation: opts.stripPunctuation ?? false, ...optimalBands(threshold, permutations, weights) };
}

/** Signs every document and keeps its band keys; shingle sets are recomputed only for candidates. */
class LshIndex {
  readonly keys: Uint32Array;
  readonly active: Uint8Array;
  private readonly shingler: Shingler;
  private readonly cache = new Map<number, Uint32Array>();

  constructor(readonly docs: readonly string[], readonly s: ReturnType<typeof settingsOf>, onProgress?: (done: number, total: number) => void) {
    this.shingler = new Shingler({ size: s.shingle, unit: s.unit, stripPunctuation: s.stripPunctuation });
    const seeds = minhashSeeds(s.permutations, s.seed);
    const sig = new Uint32Array(s.permutations);
    this.keys = new Uint32Array(docs.length * s.bands);
    this.active = new Uint8Array(docs.length);
    for (let d = 0; d < docs.length; d++) {
      if (onProgress && (d & 1023) === 1023) onProgress(d + 1, docs.length);
      const h = this.shingler.hashes(docs[d] ?? '', false);
      if (h.length === 0) continue;
      this.active[d] = 1;
      minhashSignature(h, seeds, sig);
      bandKeys(sig, s.bands, s.rows, this.keys, d * s.bands);
    }
    onProgress?.(docs.length, docs.length);
  }

  shingles(d: number): Uint32Array {
    let h = this.cache.get(d);
    if (!h) this.cache.set(d, (h = this.shingler.hashes(this.docs[d] ?? '').slice()));
    return h;
  }

  jaccard(a: number, b: number): number {
    return exactJaccard(this.shingles(a), this.shingles(b));
  }
}

/**
 * Clusters of near-duplicate documents (verified Jaccard >= threshold, joined transitively), largest first.
 *
 * @example
 * const { clusters } = nearDuplicateClusters(['the cat sat on the mat', 'the cat sat on the mat!', 'a dog']);
 * clusters[0].rows; // [0, 1]
 */
export function nearDuplicateClusters(docs: readonly string[], opts: NearDupOptions = {}): { clusters: NearDupCluster[]; settings: NearDupSettings; candidatePairs: number } {
  const s = settingsOf(opts);
  const index = new LshIndex(docs, s, opts.onProgress);
  const n = docs.length;
  const uf = new UnionFind(n);
  const minEdge = new Float64Array(n).fill(1);
  const checked = new Set<number>();
  const cap = opts.maxBucketCompare ?? 64;
  forEachBucket(index.keys, n, s.bands, index.active, (members, count) => {
    for (let a = 1; a < count; a++) {
      for (let b = Math.max(0, a - cap); b < a; b++) {
        const x = Math.min(members[a], members[b]);
        const y = Math.max(members[a], members[b]);
        const rx = uf.find(x);
        const ry = uf.find(y);
        if (rx === ry) continue;
        const key = x * n + y;
        if (checked.has(key)) continue;
        checked.add(key);
        const j = index.jaccard(x, y);
        if (j >= s.threshold) {
          const low = Math.min(j, minEdge[rx], minEdge[ry]);
          uf.union(x, y);
          minEdge[uf.find(x)] = low;
        }
      }
    }
  });
  const clusters = uf.groups().map((rows) => ({ rows, jaccard: minEdge[uf.find(rows[0])], preview: preview(docs[rows[0]]) }));
  const settings = publicSettings(s);
  return { clusters, settings, candidatePairs: checked.size };
}

/**
 * A test row that nearly copies one or more training rows.
 *
 * @example
 * { test: 4, train: [120, 877], jaccard: 0.93, preview: 'Protect your financial well-being…' }
 */
export interface CrossSplitMatch {
  /** Row of the test split. */
  test: number;
  /** Matching training rows, most similar first (at most 10). */
  train: number[];
  /** The highest exact Jaccard with a training row. */
  jaccard: number;
  preview: string;
}

/**
 * Test documents whose exact Jaccard with some training document reaches the threshold.
 *
 * @example
 * crossSplitMatches(['the cat sat on the mat'], ['The cat sat on the mat.', 'unrelated'])[0].test; // 0
 */
export function crossSplitMatches(train: readonly string[], test: readonly string[], opts: NearDupOptions = {}): { matches: CrossSplitMatch[]; settings: NearDupSettings } {
  const s = settingsOf(opts);
  const nTrain = train.length;
  const all = [...train, ...test];
  const index = new LshIndex(all, s, opts.onProgress);
  const n = all.length;
  const found = new Map<number, { train: number; j: number }[]>();
  const checked = new Set<number>();
  const cap = opts.maxBucketCompare ?? 64;
  forEachBucket(index.keys, n, s.bands, index.active, (members, count) => {
    // Members are in index order: training documents first, then test documents.
    let firstTest = 0;
    while (firstTest < count && members[firstTest] < nTrain) firstTest++;
    if (firstTest === 0 || firstTest === count) return;
    for (let a = firstTest; a < count; a++) {
      for (let b = Math.max(0, firstTest - cap); b < firstTest; b++) {
        const key = members[b] * n + members[a];
        if (checked.has(key)) continue;
        checked.add(key);
        const j = index.jaccard(members[a], members[b]);
        if (j < s.threshold) continue;
        const t = members[a] - nTrain;
        let list = found.get(t);
        if (!list) found.set(t, (list = []));
        list.push({ train: members[b], j });
      }
    }
  });
  const matches = [...found.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([t, list]) => {
      list.sort((p, q) => q.j - p.j || p.train - q.train);
      return { test: t, train: list.slice(0, 10).map((m) => m.train), jaccard: list[0].j, preview: preview(test[t]) };
    });
  const settings = publicSettings(s);
  return { matches, settings };
}

function publicSettings(s: ReturnType<typeof settingsOf>): NearDupSettings {
  return { unit: s.unit, shingle: s.shingle, permutations: s.permutations, threshold: s.threshold, bands: s.bands, rows: s.rows };
}

function preview(text: string | undefined): string {
  const t = (text ?? '').replace(/\s+/g, ' ').trim();
  return t.length > PREVIEW_CHARS ? `${t.slice(0, PREVIEW_CHARS - 1)}…` : t;
}

function describe(s: NearDupSettings): string {
  return `Jaccard >= ${s.threshold} on ${s.shingle}-${s.unit === 'char' ? 'character' : 'word'} shingles`;
}

function where(column: string | undefined, split: string | undefined): string {
  const parts = [column ? `column ${column}` : '', split ? `the ${split} split` : ''].filter(Boolean);
  return parts.length ? ` in ${parts.join(' of ')}` : '';
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const fmt = (x: number) => x.toLocaleString('en-US');

/**
 * The `duplicates.near-text` finding for one split's text: clusters of near-copies, the share of rows in
 * them as the score (`info` under 1%, `warn` from 1%, `error` from 10%). No finding when there are none.
 *
 * @example
 * const [f] = findNearDuplicateText(table.column('body'), { split: 'train', column: 'body' });
 * f?.details?.clusters; // [{ rows: [3, 17], jaccard: 0.91, preview: 'Dear friend, ...' }, ...]
 */
export function findNearDuplicateText(docs: readonly string[], opts: NearDupOptions & { split?: string; column?: string } = {}): Finding[] {
  const { clusters, settings, candidatePairs } = nearDuplicateClusters(docs, opts);
  if (clusters.length === 0) return [];
  const involved = clusters.reduce((a, c) => a + c.rows.length, 0);
  const score = docs.length ? involved / docs.length : 0;
  const severity: Severity = score >= WITHIN_ERROR ? 'error' : score >= WITHIN_WARN ? 'warn' : 'info';
  const evidence: number[] = [];
  for (const c of clusters) for (const r of c.rows) if (evidence.length < MAX_EVIDENCE_ROWS) evidence.push(r);
  return [{
    check: 'duplicates.near-text',
    severity,
    score,
    message: `${fmt(involved)} of ${fmt(docs.length)} text rows (${pct(score)}) fall in ${fmt(clusters.length)} near-duplicate cluster${clusters.length === 1 ? '' : 's'} (${describe(settings)})${where(opts.column, opts.split)}.`,
    ...(opts.column ? { column: opts.column } : {}),
    ...(opts.split ? { split: opts.split } : {}),
    evidence: { rows: evidence },
    details: {
      clusters: clusters.slice(0, MAX_CLUSTERS),
      clusterCount: clusters.length,
      rowsInvolved: involved,
      redundantRows: involved - clusters.length,
      candidatePairs,
      ...settings,
    },
  }];
}

/**
 * The `leakage.near-duplicate` finding: test rows that nearly copy a training row. Evidence rows are test
 * rows; `details.matches` lists the training rows each one matches. Any leaked row is a `warn`, 1% of the
 * test split or more an `error`. No finding when there are none.
 *
 * @example
 * const [f] = findCrossSplitNearDuplicates(train.column('body'), test.column('body'), { column: 'body' });
 * f?.details?.matches; // [{ test: 4, train: [120], jaccard: 0.93, preview: '...' }, ...]
 */
export function findCrossSplitNearDuplicates(train: readonly string[], test: readonly string[], opts: NearDupOptions & { column?: string } = {}): Finding[] {
  const { matches, settings } = crossSplitMatches(train, test, opts);
  if (matches.length === 0) return [];
  const score = test.length ? matches.length / test.length : 0;
  return [{
    check: 'leakage.near-duplicate',
    severity: score >= LEAK_ERROR ? 'error' : 'warn',
    score,
    message: `${fmt(matches.length)} of ${fmt(test.length)} test rows (${pct(score)}) nearly copy a training row (${describe(settings)})${opts.column ? ` in column ${opts.column}` : ''}.`,
    ...(opts.column ? { column: opts.column } : {}),
    split: 'test',
    evidence: { rows: matches.slice(0, MAX_EVIDENCE_ROWS).map((m) => m.test) },
    details: {
      matches: matches.slice(0, MAX_CLUSTERS),
      leakedRows: matches.length,
      testRows: test.length,
      trainRows: train.length,
      ...settings,
    },
  }];
}
