/**
 * Checkpoints: one atomic set of files (weights, optimizer state, counters, and optionally the best weights and
 * the trainer's own state) built in a fresh directory, with its own manifest, and swapped in by rename — a
 * crash at any moment leaves the previous set or the new one, never a mix.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Module } from '../nn/module.ts';
import { loadSafetensors, type NamedTensor, saveSafetensors } from '../runtime/safetensors.ts';
import { SwitchyardError } from '../util/errors.ts';
import {
  commitDirAtomic, MANIFEST_NAME, sha256Bytes, tempDirFor, verifyManifest, writeJsonAtomic, writeManifest,
} from '../util/fs.ts';
import { killPoint } from '../util/kill-point.ts';
import { openRun, readResumableConfig, RUN_FILES, type RunHeader } from './run-dir.ts';
import type { TrainStep } from './step.ts';

export { RUN_FILES };

/** Counters that make a resume continue exactly where the run stopped. */
export interface TrainCounters {
  updates: number;
  microSteps: number;
  /** Free-form position of the data loader (epoch, batch within epoch). */
  epoch: number;
  batchInEpoch: number;
}

/** Parameter values by name, as `Module.stateDict()` gives them. */
export type StateDict = Map<string, { shape: number[]; data: Float32Array }>;

/** What a checkpoint holds besides the weights and optimizer state. */
export interface CheckpointExtras {
  /** The best weights so far (saved as `best.safetensors`). */
  best?: StateDict;
  /** An exponential moving average of the weights (saved as `ema.safetensors`; diffusion runs). */
  ema?: StateDict;
  /** The trainer's own JSON state (history, early-stopping counters, `configSha256`), saved as `state.json`. */
  state?: Record<string, unknown>;
}

/** A loaded checkpoint: its counters, plus the extras it was saved with. */
export type LoadedCheckpoint = TrainCounters & CheckpointExtras;

function toNamed(m: StateDict): Map<string, NamedTensor> {
  return new Map([...m].map(([k, v]) => [k, { dtype: 'F32' as const, shape: v.shape, data: v.data }]));
}

/**
 * A copy of a model's weights (not views), to keep e.g. the best epoch's weights while training goes on.
 *
 * @example
 * const best = copyWeights(model);
 */
export function copyWeights(model: Module): StateDict {
  return new Map([...model.stateDict()].map(([n, v]) => [n, { shape: [...v.shape], data: Float32Array.from(v.data) }]));
}

/**
 * Writes weights as a PyTorch-style safetensors file (F32, `format: pt`), atomically.
 *
 * @example
 * await saveWeights('runs/x/model.safetensors', model.stateDict(), { epoch: '4' });
 */
export async function saveWeights(
  file: string, weights: StateDict, metadata: Record<string, string> = {},
): Promise<void> {
  await saveSafetensors(file, toNamed(weights), { format: 'pt', ...metadata });
}

/**
 * Loads one safetensors weights file into `model` (strictly: same names and shapes); returns its metadata.
 * Callers pass a verified path (`openRun(dir).file(...)`).
 *
 * @example
 * await loadWeightsFile((await openRun('runs/x')).file('model.safetensors'), model);
 */
export async function loadWeightsFile(file: string, model: Module): Promise<Record<string, string>> {
  const { tensors, metadata } = await loadSafetensors(file);
  const sd = new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
  model.loadStateDict(sd, file);
  return metadata;
}

/**
 * Saves a checkpoint as the directory `dir`: `model.safetensors`, `optimizer.safetensors` (unless `step` is
 * null; with the counters as metadata), the {@link CheckpointExtras}, and a manifest, all written into a fresh
 * sibling directory and swapped in by rename. Every file records the same update count, checked on load.
 *
 * @example
 * const counters = { updates: step.updates, microSteps: step.microSteps, epoch: 3, batchInEpoch: 0 };
 * await saveCheckpoint('runs/x/checkpoint', model, step, counters);
 */
export async function saveCheckpoint(
  dir: string, model: Module, step: TrainStep | null, counters: TrainCounters,
  metadata: Record<string, string> = {}, extras: CheckpointExtras = {},
): Promise<void> {
  // A step on WebGPU keeps the weights and optimizer state on the GPU: bring the host copies up to date.
  await step?.syncToHost();
  // The set replaces the directory `dir` whole: never let that be a run directory (or anything else).
  const ours = new Set<string>([
    MANIFEST_NAME, RUN_FILES.model, RUN_FILES.optimizer, RUN_FILES.best, RUN_FILES.ema, RUN_FILES.state,
  ]);
  const foreign = (await readdir(dir).catch(() => [] as string[])).find((n) => !ours.has(n));
  if (foreign !== undefined) {
    throw new SwitchyardError(
      'E_CHECKPOINT',
      `${dir}: holds ${foreign}, which is not part of a checkpoint; a checkpoint replaces its whole directory`,
      `save it to its own directory, e.g. ${join(dir, RUN_FILES.checkpoint)}`,
      1,
    );
  }
  const tmp = tempDirFor(dir);
  await removeStale(dir);
  const updates = String(counters.updates);
  await saveWeights(join(tmp, RUN_FILES.model), model.stateDict(), { ...metadata, updates });
  killPoint('checkpoint:model');
  if (step) {
    const shapes = new Map(model.namedParameters().map(([n, p]) => [n, p.shape]));
    const state = new Map<string, NamedTensor>();
    for (const [name, data] of step.optimizerState) {
      const param = name.slice(0, name.lastIndexOf('.'));
      state.set(name, { dtype: 'F32', shape: shapes.get(param) ?? [data.length], data });
    }
    const meta: Record<string, string> = { optimizer: step.optimizer.name };
    for (const [k, v] of Object.entries(counters)) meta[k] = String(v);
    await saveSafetensors(join(tmp, RUN_FILES.optimizer), state, meta);
    killPoint('checkpoint:optimizer');
  }
  for (const extra of ['best', 'ema'] as const) {
    const weights = extras[extra];
    if (weights) await saveWeights(join(tmp, RUN_FILES[extra]), weights, { updates });
  }
  if (extras.state) await writeJsonAtomic(join(tmp, RUN_FILES.state), { ...extras.state, counters });
  await writeManifest(tmp);
  killPoint('checkpoint:manifest');
  await commitDirAtomic(tmp, dir, { aside: asideOf(dir) });
  killPoint('checkpoint:commit');
  await removeStale(dir);
}

const asideOf = (dir: string): string => `${dir.replace(/[\\/]+$/, '')}.old`;

/** Removes the leftovers of earlier interrupted saves (temp sets, an old set put aside) once `dir` exists. */
async function removeStale(dir: string): Promise<void> {
  const parent = dirname(dir);
  const base = basename(dir);
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const n of names) {
    const stale = n.startsWith(`${base}.tmp-`) || (n === `${base}.old` && existsSync(dir));
    if (stale) await rm(join(parent, n), { recursive: true, force: true });
  }
}

/**
 * The directory of the last complete checkpoint set at `dir`: `dir` itself, or — after a crash between the two
 * renames of a save — the previous set put aside next to it.
 */
function committedSet(dir: string): string {
  if (existsSync(dir) || !existsSync(asideOf(dir))) return dir;
  return asideOf(dir);
}

/**
 * Loads `model.safetensors` of a finished run directory into `model`, after verifying the run's manifest
 * (see `openRun`), or of a checkpoint directory, after verifying the checkpoint's own manifest.
 *
 * @example
 * await loadWeights('runs/x', model);
 */
export async function loadWeights(dir: string, model: Module): Promise<void> {
  if (existsSync(join(dir, RUN_FILES.config))) {
    await loadWeightsFile((await openRun(dir)).file(RUN_FILES.model), model);
    return;
  }
  const set = await verifiedSet(dir, RUN_FILES.model);
  await loadWeightsFile(join(set, RUN_FILES.model), model);
}

/** The checkpoint set at `dir`, its manifest verified strictly (every file listed and intact), holding `need`. */
async function verifiedSet(dir: string, need: string): Promise<string> {
  const set = committedSet(dir);
  const file = join(set, need);
  const missing = () => {
    const hint = need === RUN_FILES.optimizer
      ? 'this run has no optimizer state to resume from; train from scratch'
      : 'pass the directory written by switchyard train (--out)';
    return new SwitchyardError('E_FILE_NOT_FOUND', `${file}: no such file`, hint);
  };
  if (!existsSync(join(set, MANIFEST_NAME))) {
    if (!existsSync(file)) throw missing();
    const what = `${join(set, MANIFEST_NAME)}: the checkpoint has no manifest`;
    throw new SwitchyardError('E_MANIFEST', what, 'it was not written by this version of switchyard train; retrain');
  }
  await verifyManifest(set, { strict: true });
  if (!existsSync(file)) throw missing();
  return set;
}

/**
 * Loads a checkpoint saved by {@link saveCheckpoint} into a model and its compiled step, after verifying the
 * set's manifest and that every file records the same update count; returns the counters and extras.
 *
 * @example
 * const { epoch, state } = await loadCheckpoint('runs/x/checkpoint', model, step);
 */
export async function loadCheckpoint(dir: string, model: Module, step: TrainStep): Promise<LoadedCheckpoint> {
  const set = await verifiedSet(dir, RUN_FILES.optimizer);
  const file = join(set, RUN_FILES.optimizer);
  const { tensors, metadata } = await loadSafetensors(file);
  if (metadata.optimizer !== step.optimizer.name) {
    const what = `${file}: saved by optimizer '${metadata.optimizer}', resuming with '${step.optimizer.name}'`;
    throw new SwitchyardError('E_CHECKPOINT', what, 'resume with the same optimizer');
  }
  for (const name of step.optimizerState.keys()) {
    if (!tensors.has(name)) {
      const what = `${file}: missing optimizer state '${name}'`;
      throw new SwitchyardError('E_CHECKPOINT', what, 'the checkpoint belongs to a different model');
    }
  }
  const modelMeta = await loadWeightsFile(join(set, RUN_FILES.model), model);
  const torn = (other: string, value: string | undefined) => new SwitchyardError(
    'E_CHECKPOINT',
    `${set}: ${other} records update ${value}, optimizer.safetensors update ${metadata.updates}`,
    'the checkpoint files come from different moments; restore the run from a copy or retrain',
  );
  if (modelMeta.updates !== metadata.updates) throw torn(RUN_FILES.model, modelMeta.updates);
  for (const name of step.optimizerState.keys()) {
    step.optimizerState.set(name, Float32Array.from(tensors.get(name)!.data as Float32Array));
  }
  const counters: TrainCounters = {
    updates: Number(metadata.updates ?? 0),
    microSteps: Number(metadata.microSteps ?? 0),
    epoch: Number(metadata.epoch ?? 0),
    batchInEpoch: Number(metadata.batchInEpoch ?? 0),
  };
  step.updates = counters.updates;
  step.microSteps = counters.microSteps;
  const out: LoadedCheckpoint = { ...counters };
  if (existsSync(join(set, RUN_FILES.state))) {
    type Saved = Record<string, unknown> & { counters?: TrainCounters };
    const state = JSON.parse(await readFile(join(set, RUN_FILES.state), 'utf8')) as Saved;
    if (state.counters?.updates !== counters.updates) throw torn(RUN_FILES.state, String(state.counters?.updates));
    out.state = state;
  }
  for (const extra of ['best', 'ema'] as const) {
    if (!existsSync(join(set, RUN_FILES[extra]))) continue;
    const { tensors, metadata: em } = await loadSafetensors(join(set, RUN_FILES[extra]));
    if (em.updates !== metadata.updates) throw torn(RUN_FILES[extra], em.updates);
    out[extra] = new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
  }
  return out;
}

/**
 * Writes a finished run directory by hand (a model built or trained outside `switchyard train`): `config.json`,
 * `model.safetensors` and the manifest, so every loader opens it.
 *
 * @example
 * const config = { format: 'switchyard.run', version: 1, kind: 'gpt', gpt: cfg, tokenizer: tok.toJSON() } as const;
 * await writeRun('runs/lm', config, model);
 */
export async function writeRun(dir: string, config: RunHeader, model: Module): Promise<void> {
  await writeJsonAtomic(join(dir, RUN_FILES.config), config);
  await saveWeights(join(dir, RUN_FILES.model), model.stateDict());
  await writeManifest(dir);
}

/**
 * The `config.json` of a run to resume, parsed and verified ({@link readResumableConfig}), with its text.
 *
 * @example
 * const { cfg, text } = await resumableConfig<TabularRunConfig>('runs/x');
 */
export async function resumableConfig<T>(runDir: string): Promise<{ cfg: T; text: string }> {
  const text = await readResumableConfig(runDir);
  return { cfg: JSON.parse(text) as T, text };
}

/**
 * Resumes a run directory: loads its `checkpoint/` ({@link loadCheckpoint}), checks that the checkpoint was
 * written with this exact `config.json` (`configText`), and removes the run's manifest, since the run is being
 * changed again (a crash before the invocation ends then reads as "interrupted", not as "damaged").
 *
 * @example
 * const ck = await resumeCheckpoint('runs/x', model, step, text);
 */
export async function resumeCheckpoint(
  runDir: string, model: Module, step: TrainStep, configText: string,
): Promise<LoadedCheckpoint> {
  const ck = await loadCheckpoint(join(runDir, RUN_FILES.checkpoint), model, step);
  if (ck.state?.configSha256 !== sha256Bytes(configText)) {
    const what = `${join(runDir, RUN_FILES.config)}: differs from the config the checkpoint was written with`;
    throw new SwitchyardError('E_CHECKPOINT', what, 'config.json was modified; restore it, or retrain');
  }
  await rm(join(runDir, MANIFEST_NAME), { force: true });
  return ck;
}
