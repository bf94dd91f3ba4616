/**
 * Drift of live traffic against a reference, per column, with the test chosen by column type and reference
 * size the way Evidently does: numeric columns use the two-sample Kolmogorov-Smirnov test (drift when
 * p < 0.05) up to 1000 reference rows and the normed Wasserstein distance (W1 / reference std; drift when
 * >= 0.1) above; categorical columns use chi-square (p < 0.05) up to 1000 rows and the Jensen-Shannon
 * distance (>= 0.1) above. PSI is reported for every column. Text columns are compared as embeddings with
 * the kernel MMD test (p < 0.05); the embedding is a hashed bag of character 3-grams (64 dimensions,
 * L2-normalised) — it needs no model and sees changes in vocabulary, spelling and language.
 */
import { binCounts, chiSquareTwoSample, jensenShannon, ksTwoSample, mmdRbf, psi, quantileBins, wasserstein1 } from '../stats/drift.ts';
import { fnv1a } from '../util/hash32.ts';

/** How a column is compared. */
export type ColumnType = 'numeric' | 'categorical' | 'text';

/** The tests a column can get. */
export type DriftTest = 'ks' | 'wasserstein' | 'chi-square' | 'jensen-shannon' | 'mmd';

/** Reference sizes up to this use the p-value tests (KS, chi-square); above, the distances. */
export const SMALL_REFERENCE = 1000;

/**
 * The test a column gets, and when it counts as drifted: `p` tests drift when p < threshold, distances
 * when the statistic >= threshold.
 *
 * @example
 * chooseTest('numeric', 500);      // { test: 'ks', threshold: 0.05, by: 'p' }
 * chooseTest('categorical', 5000); // { test: 'jensen-shannon', threshold: 0.1, by: 'distance' }
 */
export function chooseTest(type: ColumnType, referenceRows: number): { test: DriftTest; threshold: number; by: 'p' | 'distance' } {
  if (type === 'text') return { test: 'mmd', threshold: 0.05, by: 'p' };
  const small = referenceRows <= SMALL_REFERENCE;
  if (type === 'numeric') return small ? { test: 'ks', threshold: 0.05, by: 'p' } : { test: 'wasserstein', threshold: 0.1, by: 'distance' };
  return small ? { test: 'chi-square', threshold: 0.05, by: 'p' } : { test: 'jensen-shannon', threshold: 0.1, by: 'distance' };
}

/**
 * The drift of one column.
 *
 * @example
 * const d: ColumnDrift = { column: 'age', type: 'numeric', test: 'ks', statistic: 0.4, pValue: 0.001, threshold: 0.05, drifted: true, psi: 0.8, referenceRows: 500, currentRows: 200, bins: { labels: ['<30'], reference: [10], current: [40] } };
 */
export interface ColumnDrift {
  column: string;
  type: ColumnType;
  test: DriftTest;
  statistic: number;
  pValue?: number;
  threshold: number;
  drifted: boolean;
  /** Population stability index over reference-quantile bins (numeric) or categories (not for text). */
  psi?: number;
  referenceRows: number;
  currentRows: number;
  /** Aligned counts for charts (reference quantile bins, or categories). */
  bins?: { labels: string[]; reference: number[]; current: number[] };
}

function sd(a: readonly number[]): number {
  const m = a.reduce((s, v) => s + v, 0) / a.length;
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
}

/**
 * Numeric drift (KS or normed Wasserstein by reference size) plus PSI over 10 reference-quantile bins.
 *
 * @example
 * numericDrift('age', [20, 30, 40, 50], [60, 70, 80, 90]).drifted; // KS statistic 1
 */
export function numericDrift(column: string, reference: readonly number[], current: readonly number[]): ColumnDrift {
  const t = chooseTest('numeric', reference.length);
  const edges = quantileBins(reference, 10);
  const rc = binCounts(reference, edges);
  const cc = binCounts(current, edges);
  const labels = rc.map((_, i) => `${+edges[i].toPrecision(3)}–${+edges[i + 1].toPrecision(3)}`);
  const base = { column, type: 'numeric' as const, test: t.test, threshold: t.threshold, psi: psi(rc, cc), referenceRows: reference.length, currentRows: current.length, bins: { labels, reference: rc, current: cc } };
  if (t.test === 'ks') {
    const r = ksTwoSample(reference, current);
    return { ...base, statistic: r.statistic, pValue: r.pValue, drifted: r.pValue < t.threshold };
  }
  const s = sd(reference);
  const statistic = wasserstein1(reference, current) / (s > 0 ? s : 1);
  return { ...base, statistic, drifted: statistic >= t.threshold };
}

/**
 * Categorical drift (chi-square or Jensen-Shannon by reference size) plus PSI over the categories.
 *
 * @example
 * categoricalDrift('color', ['red', 'red', 'blue'], ['blue', 'blue', 'blue']).test; // 'chi-square'
 */
export function categoricalDrift(column: string, reference: readonly string[], current: readonly string[]): ColumnDrift {
  const t = chooseTest('categorical', reference.length);
  const count = (xs: readonly string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const a = count(reference);
  const b = count(current);
  const labels = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => (a.get(y) ?? 0) - (a.get(x) ?? 0) || x.localeCompare(y));
  const rc = labels.map((k) => a.get(k) ?? 0);
  const cc = labels.map((k) => b.get(k) ?? 0);
  const base = { column, type: 'categorical' as const, test: t.test, threshold: t.threshold, psi: psi(rc, cc), referenceRows: reference.length, currentRows: current.length, bins: { labels, reference: rc, current: cc } };
  if (t.test === 'chi-square') {
    const r = chiSquareTwoSample(rc, cc);
    return { ...base, statistic: r.statistic, pValue: r.pValue, drifted: r.pValue < t.threshold };
  }
  const statistic = jensenShannon(rc, cc);
  return { ...base, statistic, drifted: statistic >= t.threshold };
}

/** Dimensions of {@link hashedEmbedding}. */
export const EMBEDDING_DIM = 64;

/**
 * Hashed bag-of-character-3-grams embedding (lower-cased, spaces padded; FNV-1a into `dim` buckets with a
 * sign bit; L2-normalised), row-major `[texts.length, dim]`.
 *
 * @example
 * hashedEmbedding(['hello world']).length; // 64
 */
export function hashedEmbedding(texts: readonly string[], dim = EMBEDDING_DIM, n = 3): Float32Array {
  const out = new Float32Array(texts.length * dim);
  texts.forEach((raw, r) => {
    const s = ` ${raw.toLowerCase().replace(/\s+/g, ' ').trim()} `;
    const v = out.subarray(r * dim, (r + 1) * dim);
    for (let i = 0; i + n <= s.length; i++) {
      const h = fnv1a(s, i, i + n);
      v[(h >>> 1) % dim] += h & 1 ? 1 : -1;
    }
    let norm = 0;
    for (let k = 0; k < dim; k++) norm += v[k] * v[k];
    if (norm > 0) for (let k = 0; k < dim; k++) v[k] /= Math.sqrt(norm);
  });
  return out;
}

/**
 * Embedding drift of a text column: MMD (RBF kernel, median heuristic, 200 permutations) between the
 * hashed embeddings of reference and current texts; drifted when p < 0.05.
 *
 * @example
 * textDrift('review', refTexts, liveTexts).test; // 'mmd'
 */
export function textDrift(column: string, reference: readonly string[], current: readonly string[], seed = 0): ColumnDrift {
  const t = chooseTest('text', reference.length);
  const r = mmdRbf(hashedEmbedding(reference), hashedEmbedding(current), EMBEDDING_DIM, { permutations: 200, seed, maxSamples: 500 });
  return { column, type: 'text', test: t.test, threshold: t.threshold, statistic: r.statistic, pValue: r.pValue, drifted: r.pValue < t.threshold, referenceRows: reference.length, currentRows: current.length };
}

/**
 * Drift of one column of values by its type (strings for categorical and text, numbers for numeric);
 * `null` when either side has fewer than 2 values.
 *
 * @example
 * columnDrift('age', 'numeric', [1, 2, 3], [7, 8, 9]);
 */
export function columnDrift(column: string, type: ColumnType, reference: readonly (number | string)[], current: readonly (number | string)[], seed = 0): ColumnDrift | null {
  if (reference.length < 2 || current.length < 2) return null;
  if (type === 'numeric') return numericDrift(column, reference as number[], current as number[]);
  if (type === 'text') return textDrift(column, reference as string[], current as string[], seed);
  return categoricalDrift(column, reference as string[], current as string[]);
}
