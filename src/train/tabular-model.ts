import type { Tensor } from '../core/graph.ts';
import { argmax, mul, add, reshape, softmax } from '../core/ops/index.ts';
import { TabularEncoder } from '../data/tabular.ts';
import { type Activation, MLP } from '../nn/layers.ts';
import type { Module } from '../nn/module.ts';
import { loadWeightsFile, RUN_FILES } from './checkpoint.ts';
import { openRun } from './run-dir.ts';
import type { BatchSpec } from './step.ts';
import type { InitReport } from './init-from.ts';

/** The `config.json` of a tabular run: everything needed to rebuild the model and its input transform. */
export interface TabularRunConfig {
  format: 'switchyard.run';
  version: 1;
  kind: 'tabular-mlp';
  task: 'classification' | 'regression';
  model: { sizes: number[]; activation: Activation; dropout: number };
  encoder: ReturnType<TabularEncoder['toJSON']>;
  train: Record<string, unknown>;
  seed: number;
  created: string;
  /** Where the initial weights came from (`--init-from`), for lineage. */
  initFrom?: InitReport;
}

/** Builds the MLP a config describes (weights not loaded). */
export function buildTabularModel(cfg: TabularRunConfig): MLP {
  return new MLP(cfg.model.sizes, { activation: cfg.model.activation, dropout: cfg.model.dropout }).named();
}

/** Batch inputs of the inference graph. */
export function inferenceSpec(features: number): BatchSpec {
  return { features: { dtype: 'f32', shape: ['batch', features] } };
}

/**
 * The inference outputs: classification gives `probabilities` [batch, classes] and `label` (i64 index);
 * regression gives `prediction` [batch] in the target's original units.
 */
export function inferenceOutputs(enc: TabularEncoder): (m: Module, b: Record<string, Tensor>) => Record<string, Tensor> {
  return (m, b): Record<string, Tensor> => {
    const out = m.call(b.features);
    if (enc.target.task === 'classification') return { probabilities: softmax(out, -1), label: argmax(out, -1) };
    return { prediction: add(mul(reshape(out, ['batch']), enc.target.std), enc.target.mean) };
  };
}

/**
 * Loads a run directory written by `switchyard train`: config, encoder and weights, after verifying the run's
 * manifest (`openRun`).
 *
 * @example
 * const { cfg, enc, model } = await loadTabularRun('runs/x');
 */
export async function loadTabularRun(dir: string): Promise<{ cfg: TabularRunConfig; enc: TabularEncoder; model: MLP }> {
  const run = await openRun(dir, { kinds: ['tabular-mlp'] });
  const cfg = run.config as unknown as TabularRunConfig;
  const enc = TabularEncoder.fromJSON(cfg.encoder);
  const model = buildTabularModel(cfg);
  await loadWeightsFile(run.file(RUN_FILES.model), model);
  return { cfg, enc, model };
}
