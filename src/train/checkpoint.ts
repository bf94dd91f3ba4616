import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Module } from '../nn/module.ts';
import { loadSafetensors, type NamedTensor, saveSafetensors } from '../runtime/safetensors.ts';
import { SwitchyardError } from '../util/errors.ts';
import type { TrainStep } from './step.ts';

/** File names inside a run directory. */
export const RUN_FILES = { model: 'model.safetensors', optimizer: 'optimizer.safetensors', config: 'config.json', metrics: 'metrics.jsonl' } as const;

/** Counters that make a resume continue exactly where the run stopped. */
export interface TrainCounters {
  updates: number;
  microSteps: number;
  /** Free-form position of the data loader (epoch, batch within epoch). */
  epoch: number;
  batchInEpoch: number;
}

function toNamed(m: Map<string, { shape: number[]; data: Float32Array }>): Map<string, NamedTensor> {
  return new Map([...m].map(([k, v]) => [k, { dtype: 'F32' as const, shape: v.shape, data: v.data }]));
}

/**
 * Writes `model.safetensors` and `optimizer.safetensors` (with the counters as metadata) into `dir`; each
 * file is written atomically, so a crash leaves the previous checkpoint intact.
 *
 * @example
 * await saveCheckpoint('runs/x', model, step, { updates: step.updates, microSteps: step.microSteps, epoch: 3, batchInEpoch: 0 });
 */
export async function saveCheckpoint(dir: string, model: Module, step: TrainStep | null, counters: TrainCounters, metadata: Record<string, string> = {}): Promise<void> {
  await saveSafetensors(join(dir, RUN_FILES.model), toNamed(model.stateDict()), { format: 'pt', ...metadata });
  if (step) {
    const shapes = new Map(model.namedParameters().map(([n, p]) => [n, p.shape]));
    const state = new Map<string, NamedTensor>();
    for (const [name, data] of step.optimizerState) {
      const param = name.slice(0, name.lastIndexOf('.'));
      state.set(name, { dtype: 'F32', shape: shapes.get(param) ?? [data.length], data });
    }
    const meta: Record<string, string> = { optimizer: step.optimizer.name };
    for (const [k, v] of Object.entries(counters)) meta[k] = String(v);
    await saveSafetensors(join(dir, RUN_FILES.optimizer), state, meta);
  }
}

/** Loads `model.safetensors` from a run directory into `model`. */
export async function loadWeights(dir: string, model: Module): Promise<void> {
  const file = join(dir, RUN_FILES.model);
  if (!existsSync(file)) throw new SwitchyardError('E_FILE_NOT_FOUND', `${file}: no such file`, 'pass the directory written by switchyard train (--out)');
  const { tensors } = await loadSafetensors(file);
  const sd = new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
  model.loadStateDict(sd, file);
}

/** Loads weights and optimizer state into a compiled step and returns the saved counters. */
export async function loadCheckpoint(dir: string, model: Module, step: TrainStep): Promise<TrainCounters> {
  await loadWeights(dir, model);
  const file = join(dir, RUN_FILES.optimizer);
  if (!existsSync(file)) throw new SwitchyardError('E_FILE_NOT_FOUND', `${file}: no such file`, 'this run has no optimizer state to resume from; train from scratch');
  const { tensors, metadata } = await loadSafetensors(file);
  if (metadata.optimizer !== step.optimizer.name) {
    throw new SwitchyardError('E_CHECKPOINT', `${file}: saved by optimizer '${metadata.optimizer}', resuming with '${step.optimizer.name}'`, 'resume with the same optimizer');
  }
  for (const name of step.optimizerState.keys()) {
    const t = tensors.get(name);
    if (!t) throw new SwitchyardError('E_CHECKPOINT', `${file}: missing optimizer state '${name}'`, 'the checkpoint belongs to a different model');
    step.optimizerState.set(name, Float32Array.from(t.data as Float32Array));
  }
  const counters: TrainCounters = {
    updates: Number(metadata.updates ?? 0),
    microSteps: Number(metadata.microSteps ?? 0),
    epoch: Number(metadata.epoch ?? 0),
    batchInEpoch: Number(metadata.batchInEpoch ?? 0),
  };
  step.updates = counters.updates;
  step.microSteps = counters.microSteps;
  return counters;
}
