/** Small Switchyard classifiers with weights set by the test, wrapped as eval models. */
import { TabularEncoder } from '../../src/data/tabular.ts';
import { switchyardTabular, type TabularEvalModel } from '../../src/eval/model.ts';
import type { TabularRunConfig } from '../../src/train/tabular-model.ts';
import { buildTabularModel } from '../../src/train/tabular-model.ts';
import { Rng } from '../../src/util/rng.ts';

/** An MLP classifier over `F` numeric features (`x0..`) with sizes [F, ...hidden, C]; weights random (seed) or set by `set`. */
export async function tinyClassifier(F: number, hidden: number[], C: number, seed = 0, set?: (params: Map<string, Float32Array>) => void): Promise<TabularEvalModel> {
  const classes = Array.from({ length: C }, (_, i) => `c${i}`);
  const specs = Array.from({ length: F }, (_, j) => ({ kind: 'numeric' as const, column: `x${j}`, mean: 0, std: 1, missingIndicator: false }));
  const enc = new TabularEncoder({ column: 'label', task: 'classification', classes }, specs, []);
  const cfg: TabularRunConfig = { format: 'switchyard.run', version: 1, kind: 'tabular-mlp', task: 'classification', model: { sizes: [F, ...hidden, C], activation: 'relu', dropout: 0 }, encoder: enc.toJSON(), train: {}, seed, created: '' };
  const model = buildTabularModel(cfg).init(seed);
  if (set) set(new Map(model.namedParameters().map(([n, p]) => [n, p.data])));
  return switchyardTabular('test-model', cfg, enc, model, { threads: 1 });
}

/** `rows` Gaussian rows of F features (row-major) and labels from `label`. */
export function gaussianData(rows: number, F: number, seed: number, shift = 0, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: rows * F }, () => rng.normal() * scale + shift);
}
