/**
 * A text-classifier run (`switchyard train --model text-classifier`) as a {@link TabularEvalModel}, so that `switchyard
 * eval` judges it like any classifier: metrics with intervals, slices, calibration, fairness and OOD scores on the
 * pooled token states (what the head reads). A row's "features" are its token ids (exact in float32 below
 * 2^24) followed by its text mask, `2 x context` values; they are cast back to ids in
 * {@link TabularEvalModel.predict}. Attacks need input gradients of continuous features, which token ids are
 * not: none are offered, so eval notes them as skipped.
 *
 * @module
 */
import { softmax } from '../core/ops/index.ts';
import type { TextClassifier } from '../models/text-classifier.ts';
import { Forward } from '../train/forward.ts';
import { encodeTexts, textInputs } from '../train/text-classifier.ts';
import { loadTextClassifierRun } from '../train/text-classifier-run.ts';
import { SwitchyardError } from '../util/errors.ts';
import type { TabularEvalModel } from './model.ts';

const BATCH = 64;

/**
 * Loads a text-classifier run for `switchyard eval` (see the module note).
 *
 * @example
 * const m = await textClassifierEvalModel('runs/spam');
 * const out = await m.predict(m.encode(table).x, table.rows.length);
 */
export async function textClassifierEvalModel(
  source: string, opts: { threads?: number } = {},
): Promise<TabularEvalModel> {
  const { cfg, tok, model } = await loadTextClassifierRun(source);
  const T = cfg.context;
  const C = cfg.classes.length;
  const D = cfg.gpt.dModel;
  const V = cfg.gpt.vocab;
  const fwd = await Forward.compile(model, (m, b) => {
    const logits = (m as TextClassifier).classify(b.ids, b.keep);
    return { logits, probabilities: softmax(logits, -1), features: (m as TextClassifier).pooled(b.ids, b.keep) };
  }, textInputs('batch', T), opts);
  return {
    kind: 'tabular', source, task: 'classification', classes: [...cfg.classes], target: cfg.target,
    featureNames: ['token', 'mask'].flatMap((what) => Array.from({ length: T }, (_, i) => `${what}_${i}`)),
    numFeatures: 2 * T, featureDim: D, outputKinds: { logits: 'logits', features: 'penultimate' },
    encode(table) {
      const col = table.columns.indexOf(cfg.textColumn);
      const what = `${table.file}: no text column '${cfg.textColumn}'`;
      if (col < 0) throw new SwitchyardError('E_CSV_COLUMN', what, `the run reads '${cfg.textColumn}'`);
      const enc = encodeTexts(table.rows.map((r) => r[col]), tok, T, cfg.padId);
      const rows = table.rows.length;
      const x = new Float32Array(rows * 2 * T);
      for (let r = 0; r < rows; r++) {
        for (let t = 0; t < T; t++) x[r * 2 * T + t] = Number(enc.ids[r * T + t]);
        x.set(enc.keep.subarray(r * T, (r + 1) * T), r * 2 * T + T);
      }
      const yi = table.columns.indexOf(cfg.target);
      const y = yi < 0 ? undefined : Int32Array.from(table.rows, (row) => cfg.classes.indexOf(row[yi]));
      return { x, rows, y };
    },
    async predict(x, rows) {
      const logits = new Float32Array(rows * C);
      const probabilities = new Float32Array(rows * C);
      const features = new Float32Array(rows * D);
      for (let s = 0; s < rows; s += BATCH) {
        const n = Math.min(BATCH, rows - s);
        const ids = new BigInt64Array(n * T);
        const keep = new Float32Array(n * T);
        for (let r = 0; r < n; r++) {
          const at = (s + r) * 2 * T;
          // Shifted features (eval's synthetic OOD shift adds noise) become the nearest valid token id and mask value.
          for (let t = 0; t < T; t++) ids[r * T + t] = BigInt(Math.min(V - 1, Math.max(0, Math.round(x[at + t]))));
          for (let t = 0; t < T; t++) keep[r * T + t] = Math.min(1, Math.max(0, x[at + T + t]));
        }
        const out = await fwd.run({
          ids: { dtype: 'i64', shape: [n, T], data: ids },
          keep: { dtype: 'f32', shape: [n, T], data: keep },
        });
        logits.set(out.logits.data as Float32Array, s * C);
        probabilities.set(out.probabilities.data as Float32Array, s * C);
        features.set(out.features.data as Float32Array, s * D);
      }
      return { logits, probabilities, features };
    },
    release: () => fwd.release(),
  };
}
