/**
 * One window of logged traffic judged against the reference: per-column drift, the share of drifted
 * columns and dataset drift (share >= `driftShare`, Evidently's default 0.5), prediction drift, live
 * accuracy and calibration (ECE, 10 equal-width bins) from late labels, and latency.
 */
import { assignBins, binnedCalibrationError, reliabilityBins, type ReliabilityBin } from '../eval/calibration.ts';
import { quantileSorted, sortedCopy } from '../stats/quantile.ts';
import { type ColumnDrift, columnDrift } from './drift.ts';
import { normaliseValue, type Reference } from './reference.ts';
import type { LoggedRow } from './store.ts';

/**
 * What one window shows.
 *
 * @example
 * const r = analyzeWindow(ref, rows);
 * if (r.drift.dataset) console.log(`${r.drift.drifted}/${r.drift.columns} columns drifted`);
 */
export interface WindowAnalysis {
  rows: number;
  /** Distinct input rows (a flood of one repeated row is one). */
  distinctInputs: number;
  versions: string[];
  from?: string;
  to?: string;
  drift: {
    features: ColumnDrift[];
    /** Columns judged. */
    columns: number;
    drifted: number;
    /** drifted / columns (0 when no column could be judged). */
    share: number;
    /** share >= driftShare. */
    dataset: boolean;
    driftShare: number;
    /** Predicted labels (or values) against the model's predictions on the reference (or its target column). */
    prediction: ColumnDrift | null;
  };
  live: {
    labelled: number;
    accuracy: number | null;
    ece: number | null;
    reliability: ReliabilityBin[];
  };
  latency: { p50: number | null; p99: number | null };
}

/**
 * Analyses a window of logged rows.
 *
 * @example
 * const r = analyzeWindow(ref, await readWindow(db, { model: 'churn', window: parseWindow('1000') }));
 */
export function analyzeWindow(ref: Reference | null, rows: readonly LoggedRow[], o: { driftShare?: number; seed?: number } = {}): WindowAnalysis {
  const driftShare = o.driftShare ?? 0.5;
  const features: ColumnDrift[] = [];
  for (const col of ref?.columns ?? []) {
    const cur: (number | string)[] = [];
    for (const r of rows) {
      const v = normaliseValue(col, r.input[col.name]);
      if (v !== null) cur.push(v);
    }
    const d = columnDrift(col.name, col.type, col.values, cur, o.seed);
    if (d) features.push(d);
  }
  const drifted = features.filter((f) => f.drifted).length;
  let prediction: ColumnDrift | null = null;
  const refPred = ref?.predictions?.values;
  if (refPred?.length && rows.length) {
    const numeric = typeof rows[0].prediction === 'number' && typeof refPred[0] === 'number';
    prediction = numeric
      ? columnDrift('prediction', 'numeric', refPred, rows.map((r) => Number(r.prediction)))
      : columnDrift('prediction', 'categorical', refPred.map(String), rows.map((r) => String(r.prediction)));
  }
  const labelled = rows.filter((r) => r.label !== null);
  let accuracy: number | null = null;
  let ece: number | null = null;
  let reliability: ReliabilityBin[] = [];
  if (labelled.length) {
    const correct = Uint8Array.from(labelled, (r) => (String(r.prediction) === r.label ? 1 : 0));
    accuracy = correct.reduce((s, v) => s + v, 0) / correct.length;
    const withProbs = labelled.filter((r) => r.probabilities?.length);
    if (withProbs.length === labelled.length) {
      const conf = Float64Array.from(labelled, (r) => {
        const k = r.classes?.indexOf(String(r.prediction)) ?? -1;
        return k >= 0 ? r.probabilities![k] : Math.max(...r.probabilities!);
      });
      ece = binnedCalibrationError(assignBins(conf, 10, 'width'), conf, correct, 10)[0];
      reliability = reliabilityBins(conf, correct, 10);
    }
  }
  const lat = sortedCopy(rows.map((r) => r.latencyMs));
  return {
    rows: rows.length,
    distinctInputs: new Set(rows.map((r) => JSON.stringify(r.input))).size,
    versions: [...new Set(rows.map((r) => r.version))],
    ...(rows.length ? { from: rows[0].at, to: rows[rows.length - 1].at } : {}),
    drift: { features, columns: features.length, drifted, share: features.length ? drifted / features.length : 0, dataset: features.length > 0 && drifted / features.length >= driftShare, driftShare, prediction },
    live: { labelled: labelled.length, accuracy, ece, reliability },
    latency: { p50: lat.length ? quantileSorted(lat, 0.5) : null, p99: lat.length ? quantileSorted(lat, 0.99) : null },
  };
}

/** The bin that stands for every live categorical value the reference does not have. */
export const UNSEEN_VALUES = '(values not in the reference)';

/**
 * The analysis without clients' raw values: in each categorical column's bins, the live values the reference
 * does not have (free text a client typed, identifiers) are counted in one {@link UNSEEN_VALUES} bin.
 *
 * @example
 * withoutUnseenValues(analysis).drift.features[0].bins?.labels; // ['red', 'blue', '(values not in the reference)']
 */
export function withoutUnseenValues(a: WindowAnalysis): WindowAnalysis {
  const features = a.drift.features.map((f) => {
    if (f.type !== 'categorical' || !f.bins) return f;
    const keep = f.bins.labels.map((_, i) => f.bins!.reference[i] > 0);
    const unseen = f.bins.current.reduce((s, c, i) => s + (keep[i] ? 0 : c), 0);
    const pick = <T>(xs: T[]) => xs.filter((_, i) => keep[i]);
    const bins = { labels: pick(f.bins.labels), reference: pick(f.bins.reference), current: pick(f.bins.current) };
    if (unseen > 0) bins.labels.push(UNSEEN_VALUES), bins.reference.push(0), bins.current.push(unseen);
    return { ...f, bins };
  });
  return { ...a, drift: { ...a.drift, features } };
}

/**
 * The named metrics alert rules read from an analysis: `drift.share`, `drift.dataset` (0/1),
 * `drift.columns`, `drift.prediction` (the prediction test's statistic), `drift.prediction.drifted`,
 * `drift.<column>` (its statistic) and `drift.<column>.psi`, `accuracy`, `ece`, `labelled`, `latency.p50`,
 * `latency.p99`, `predictions`.
 *
 * @example
 * windowMetrics(analysis)['drift.share']; // 0.4
 */
export function windowMetrics(a: WindowAnalysis): Record<string, number | null> {
  const m: Record<string, number | null> = {
    predictions: a.rows,
    'drift.share': a.drift.share,
    'drift.dataset': a.drift.dataset ? 1 : 0,
    'drift.columns': a.drift.drifted,
    'drift.prediction': a.drift.prediction?.statistic ?? null,
    'drift.prediction.drifted': a.drift.prediction ? Number(a.drift.prediction.drifted) : null,
    accuracy: a.live.accuracy,
    ece: a.live.ece,
    labelled: a.live.labelled,
    'latency.p50': a.latency.p50,
    'latency.p99': a.latency.p99,
  };
  for (const f of a.drift.features) {
    m[`drift.${f.column}`] = f.statistic;
    if (f.psi !== undefined) m[`drift.${f.column}.psi`] = f.psi;
  }
  return m;
}
