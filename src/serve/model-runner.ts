/**
 * Loads one model version for serving: a Switchyard tabular run (its encoder + ONNX inference graph,
 * exported in-process when the run has no `model.onnx`), a Switchyard language-model run or its exported
 * (possibly int8) decode step (generation), or a plain ONNX model with one float `[N, F]` input. Predictions go through the {@link MicroBatcher}.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { TabularEncoder } from '../data/tabular.ts';
import { loadableRunFiles, readRunFiles } from '../registry/source.ts';
import { privateVersionDir } from '../registry/version-dir.ts';
import { assertInt8Runs } from '../runtime/int8-cpu.ts';
import { decodeModel, encodeModel, type OnnxModel } from '../runtime/onnx/proto.ts';
import { createUserSession, sessionOptions } from '../runtime/session.ts';
import { RUN_FILES } from '../train/checkpoint.ts';
import type { ImageBatch } from '../data/images/batch.ts';
import { type DiffusionSampler, type DrawOptions, loadDiffusionSampler } from '../train/diffusion-sample.ts';
import { LmSession, loadLm, type SampleOptions } from '../train/generate.ts';
import { tabularOnnx } from '../train/tabular-predict.ts';
import type { DeviceChoice } from '../runtime/compile-for.ts';
import { onnxFileDevice, runDevice } from '../train/device.ts';
import { Forward } from '../train/forward.ts';
import { inferenceOutputs, inferenceSpec, loadTabularRun } from '../train/tabular-model.ts';
import { featuresView } from '../train/tabular-onnx.ts';
import { SwitchyardError } from '../util/errors.ts';
import { MANIFEST_NAME } from '../util/fs.ts';
import { type BatchFn, type BatchOutput, MicroBatcher } from './batcher.ts';
import { checkRows, type InputSchema, schemaFromEncoder, type UnknownFieldPolicy, vectorSchema } from './schema.ts';

/**
 * Predictions for the rows of one request.
 *
 * @example
 * const r: PredictResult = { predictions: ['a'], probabilities: [[0.9, 0.1]], classes: ['a', 'b'] };
 */
export interface PredictResult {
  predictions: (string | number)[];
  /** Per row, one probability (or score) per class, in `classes` order (classification only). */
  probabilities?: number[][];
  classes?: string[];
}

/**
 * Options of {@link loadModel}.
 *
 * @example
 * const o: LoadOptions = { name: 'churn', version: 3, maxBatch: 64, batchWaitMs: 2 };
 */
export interface LoadOptions {
  name?: string;
  version?: number | string;
  maxBatch?: number;
  batchWaitMs?: number;
  /** ONNX Runtime intra-op threads (default 1: small batches run fastest on one thread). */
  threads?: number;
  /**
   * Where a run directory's model runs (default `cpu`; see {@link DeviceChoice}). ONNX files run on ONNX Runtime:
   * `webgpu` is then `E_DEVICE_ONNX`, and `auto` falls back to the CPU with a note on stderr.
   */
  device?: DeviceChoice;
  unknownFields?: UnknownFieldPolicy;
  /** Pixels (width x height) of one image in a request to an image model at most (default 4096 x 4096). */
  maxImagePixels?: number;
  /** Called after each ONNX Runtime call with its batch size and duration. */
  onBatch?: (rows: number, ms: number) => void;
  /**
   * Load a run directory only through its `manifest.json` (default true): see {@link loadModel}. `false` is for
   * a directory the caller wrote itself from verified bytes and that holds nothing else (a private registry
   * materialization).
   */
  verify?: boolean;
  /** Shown as the model's `source` and in errors instead of the directory (e.g. `penguins@3`). */
  label?: string;
  /** Identity of an immutable version (registry location + NAME@VERSION): its in-process ONNX export is reused. */
  exportCacheKey?: string;
}

/**
 * A generation request.
 *
 * @example
 * const g: GenerateRequest = { prompt: 'The', maxTokens: 20, temperature: 0 };
 */
export interface GenerateRequest extends Omit<SampleOptions, 'onText'> {
  prompt: string;
}

/**
 * One loaded, ready-to-run model version.
 *
 * @example
 * const m = await loadModel('runs/churn', { name: 'churn', version: 1 });
 * const r = await m.predict({ rows: [{ age: 41, region: 'north' }] });
 */
export interface ServedModel {
  readonly name: string;
  readonly version: string;
  readonly kind: 'tabular' | 'onnx' | 'lm' | 'unet';
  readonly task: 'classification' | 'regression' | 'generation';
  readonly classes: readonly string[];
  /** The row schema (`null` for language models). */
  readonly schema: InputSchema | null;
  readonly source: string;
  /** Requests currently using this version (it is closed only when this reaches zero). */
  inflight: number;
  /** Validates, encodes and predicts a `{ rows: [...] }` body. Bad rows throw `E_BAD_ROW`. */
  predict(body: unknown): Promise<PredictResult>;
  /** Generates text (language models), calling `onText` with each piece as it is produced. */
  generate(req: GenerateRequest, onText?: (text: string) => void): Promise<{ text: string; tokens: number; promptTokens: number }>;
  /** Draws images (diffusion runs) as a batch in [-1, 1]; an aborted `signal` stops between steps. */
  sample(req: DrawOptions): Promise<ImageBatch>;
  /** Runs the model a few times so the first real request is not the slow one. */
  warm(): Promise<void>;
  close(): Promise<void>;
}

/** The route that serves each kind of model, for the hint of a request to the wrong one. */
const ROUTE_OF: Record<ServedModel['kind'], string> = {
  tabular: 'POST /v1/predict', onnx: 'POST /v1/predict', lm: 'POST /v1/generate', unet: 'POST /v1/sample',
};

function wrongKind(model: string, kind: ServedModel['kind'], want: string): SwitchyardError {
  const what = `${model} is a ${kind === 'unet' ? 'diffusion' : kind} model; it does not support ${want}`;
  return new SwitchyardError('E_MODEL_KIND', what, `use ${ROUTE_OF[kind]}`);
}

const exported = new Map<string, Uint8Array>();

async function findOnnx(dir: string): Promise<string | null> {
  if (existsSync(join(dir, 'model.onnx'))) return join(dir, 'model.onnx');
  const onnx = (await readdir(dir)).filter((f) => f.endsWith('.onnx'));
  return onnx.length === 1 ? join(dir, onnx[0]) : null;
}

/**
 * Loads a model version from a run directory or an `.onnx` file. A run directory (one with `config.json` or
 * `manifest.json`) is loaded only through its manifest: every listed file is checked against its SHA-256 and
 * copied into a private temp directory, and the model is loaded from that copy, so a file planted in the run
 * (an unlisted `model.onnx` is refused with `E_UNLISTED_MODEL`) or changed after the check is never used;
 * a run without a manifest is refused (`E_MANIFEST`). Throws `E_MODEL_LOAD` with the path on other failures.
 *
 * @example
 * const m = await loadModel('runs/churn', { name: 'churn', version: 'dir', maxBatch: 64 });
 * await m.warm();
 */
export async function loadModel(source: string, opts: LoadOptions = {}): Promise<ServedModel> {
  if (!existsSync(source)) throw new SwitchyardError('E_MODEL_LOAD', `${source}: no such file or directory`, 'pass a run directory, an .onnx file or NAME@ALIAS with --registry');
  const name = opts.name ?? source.replace(/\/+$/, '').split('/').pop()!.replace(/\.onnx$/, '');
  const version = String(opts.version ?? 'local');
  const label = opts.label ?? source;
  if (statSync(source).isFile()) {
    onnxFileDevice(opts.device, label);
    return onnxModel(label, await readFile(source), name, version, opts);
  }
  const isRun = existsSync(join(source, RUN_FILES.config)) || existsSync(join(source, MANIFEST_NAME));
  // A directory holding just an .onnx file is that file; a registry materialization was verified as it was written.
  if (!isRun || opts.verify === false) return loadRunDir(source, label, name, version, opts);
  const files = loadableRunFiles(await readRunFiles(source), source);
  const stagingRoot = join(tmpdir(), `switchyard-serve-${process.getuid?.() ?? 'user'}`); // one per user: see ownedDir
  const staged = await privateVersionDir(files, stagingRoot, 'run');
  try {
    return await loadRunDir(staged, label, name, version, opts);
  } finally {
    await rm(staged, { recursive: true, force: true });
  }
}

/** Loads a directory whose every file may be used (checked by the caller): a run, or one holding a single .onnx. */
async function loadRunDir(
  dir: string,
  label: string,
  name: string,
  version: string,
  opts: LoadOptions,
): Promise<ServedModel> {
  const cfgFile = join(dir, RUN_FILES.config);
  if (!existsSync(cfgFile)) {
    const file = await findOnnx(dir);
    if (!file) throw new SwitchyardError('E_MODEL_LOAD', `${label}: no config.json and no single .onnx file`, 'pass a run directory written by switchyard train, or an ONNX model');
    onnxFileDevice(opts.device, label);
    return onnxModel(label, await readFile(file), name, version, opts);
  }
  let cfg: { kind?: string };
  try {
    cfg = JSON.parse(await readFile(cfgFile, 'utf8'));
  } catch (e) {
    throw new SwitchyardError('E_MODEL_LOAD', `${join(label, RUN_FILES.config)}: not valid JSON (${(e as Error).message})`, 'the run directory is damaged');
  }
  if (cfg.kind === 'gpt') {
    return lmModel(await loadLm(dir, { threads: opts.threads, device: opts.device }), label, name, version);
  }
  if (cfg.kind === 'unet') {
    return unetModel(await loadDiffusionSampler(dir, { threads: opts.threads, device: opts.device }), label, name, version);
  }
  if (cfg.kind !== 'tabular-mlp') {
    throw new SwitchyardError('E_MODEL_LOAD', `${join(label, RUN_FILES.config)}: cannot serve a run of kind '${cfg.kind}'`, 'serve a tabular (switchyard train), language-model (--model gpt) or diffusion (--model unet) run, or an ONNX file');
  }
  if ((await runDevice(opts.device)).name === 'webgpu') return webGpuTabular(dir, label, name, version, opts);
  const file = await findOnnx(dir);
  if (file) return onnxModel(label, await readFile(file), name, version, opts);
  // Registry versions are immutable: their export is kept (a switch back and forth costs no re-export).
  const key = opts.exportCacheKey;
  const cached = key === undefined ? undefined : exported.get(key);
  if (cached) return onnxModel(label, cached, name, version, opts);
  const { bytes } = await tabularOnnx(dir, { inputs: 'features' });
  if (key !== undefined) {
    if (exported.size >= 16) exported.delete(exported.keys().next().value!);
    exported.set(key, bytes);
  }
  return onnxModel(label, bytes, name, version, opts);
}

interface OutputPlan {
  task: 'classification' | 'regression';
  classes: string[];
  probs?: string;
  label?: string;
  value?: string;
}

function planOutputs(model: OnnxModel, source: string, enc: TabularEncoder | null): OutputPlan {
  const outs = model.graph.outputs;
  const find = (pred: (o: (typeof outs)[number]) => boolean) => outs.find(pred)?.name;
  const probs = find((o) => o.name === 'probabilities') ?? find((o) => o.dtype === 'float32' && o.shape?.length === 2 && o.shape[1] !== 1);
  const label = find((o) => o.name === 'label') ?? find((o) => o.dtype === 'int64' && o.shape?.length === 1);
  const value = find((o) => o.name === 'prediction') ?? find((o) => o.dtype === 'float32' && (o.shape?.length === 1 || (o.shape?.length === 2 && o.shape[1] === 1)));
  if (enc?.task === 'regression' || (!enc && !probs && !label && value)) {
    if (!value) throw new SwitchyardError('E_MODEL_LOAD', `${source}: a regression model needs a float [N] or [N, 1] output`, 'export the model with a prediction output');
    return { task: 'regression', classes: [], value };
  }
  if (!probs && !label) throw new SwitchyardError('E_MODEL_LOAD', `${source}: no usable output (want float [N, C] scores, int64 [N] labels or float [N] values); outputs are ${outs.map((o) => o.name).join(', ')}`, 'export the model with class scores or a prediction output');
  let classes: string[] = enc ? [...enc.classes] : [];
  const meta = model.metadata?.['switchyard.classes'];
  if (!enc && meta) classes = JSON.parse(meta) as string[];
  if (classes.length === 0) {
    const c = outs.find((o) => o.name === probs)?.shape?.[1];
    if (typeof c !== 'number') throw new SwitchyardError('E_MODEL_LOAD', `${source}: cannot tell the number of classes (output '${probs}' has no fixed class dim)`, "add 'switchyard.classes' model metadata");
    classes = Array.from({ length: c }, (_, i) => String(i));
  }
  return { task: 'classification', classes, probs, label };
}

async function onnxModel(source: string, bytes: Uint8Array, name: string, version: string, opts: LoadOptions): Promise<ServedModel> {
  let model: OnnxModel;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new SwitchyardError('E_MODEL_LOAD', `${source}: not a valid ONNX model (${(e as Error).message})`, 'the artefact is damaged; re-export it');
  }
  assertInt8Runs(model.metadata, source);
  // A language model's exported (possibly int8) decode step generates like its run directory.
  if (model.metadata?.['switchyard.kind'] === 'gpt-decode') return lmModel(await LmSession.fromOnnx(bytes, source, { threads: opts.threads }), source, name, version);
  // A raw-column tabular export is served in its features form: requests are validated and encoded here.
  if (model.metadata?.['switchyard.inputs'] === 'raw') bytes = encodeModel((model = featuresView(model)));
  const encJson = model.metadata?.['switchyard.encoder'];
  const enc = encJson ? TabularEncoder.fromJSON(JSON.parse(encJson)) : null;
  const inputs = model.graph.inputs.filter((i) => !model.graph.initializers.some((t) => t.name === i.name));
  const input = inputs[0];
  const width = input?.shape?.[1];
  if (inputs.length !== 1 || input.dtype !== 'float32' || input.shape?.length !== 2 || typeof width !== 'number') {
    const got = inputs.map((i) => `${i.name}: ${i.dtype}[${i.shape?.join(', ') ?? '?'}]`).join('; ');
    throw new SwitchyardError('E_MODEL_SCHEMA', `${source}: cannot serve this model's inputs (${got}); serving needs one float32 [N, F] input`, 'export the model with a single [batch, features] float input');
  }
  const plan = planOutputs(model, source, enc);
  const names = model.metadata?.['switchyard.feature_names'];
  const schema = enc ? schemaFromEncoder(enc, opts.unknownFields, opts.maxImagePixels) : vectorSchema(width, undefined, opts.unknownFields);
  if (!enc && names) schema.fields = (JSON.parse(names) as string[]).map((n) => ({ name: n, type: 'number' as const }));
  const session = await createUserSession(bytes, source, { ...sessionOptions({ threads: opts.threads ?? 1 }), logSeverityLevel: 4 });
  const fetch = planFetch(plan);
  const run: BatchFn = async (x, rows) => {
    const res = await session.run({ [input.name]: new ort.Tensor('float32', x, [rows, width]) }, fetch);
    const out: BatchOutput = {};
    for (const n of fetch) out[n] = { data: res[n].data as Float32Array, perRow: res[n].data.length / rows };
    return out;
  };
  const kind = enc ? 'tabular' : 'onnx';
  const release = () => session.release();
  return tabularServed({ source, name, version, kind, plan, schema, enc, width, run, release }, opts);
}

/** The outputs a batch fetches: the plan's scores, labels or values. */
function planFetch(plan: OutputPlan): string[] {
  return [plan.probs, plan.label, plan.value].filter((n): n is string => !!n);
}

/**
 * A Switchyard tabular run served on WebGPU: its inference graph (the same as its ONNX export's, features form)
 * compiled from the weights by the WebGPU executor.
 */
async function webGpuTabular(
  dir: string, source: string, name: string, version: string, opts: LoadOptions,
): Promise<ServedModel> {
  const { enc, model } = await loadTabularRun(dir);
  const width = enc.numFeatures;
  const fwd = await Forward.compile(model, inferenceOutputs(enc), inferenceSpec(width), { device: 'webgpu' });
  const plan: OutputPlan = enc.task === 'classification'
    ? { task: 'classification', classes: [...enc.classes], probs: 'probabilities', label: 'label' }
    : { task: 'regression', classes: [], value: 'prediction' };
  const fetch = planFetch(plan);
  const run: BatchFn = async (x, rows) => {
    const res = await fwd.run({ features: { dtype: 'f32', shape: [rows, width], data: x } });
    const out: BatchOutput = {};
    for (const n of fetch) {
      out[n] = { data: res[n].data as Float32Array | BigInt64Array, perRow: res[n].data.length / rows };
    }
    return out;
  };
  const schema = schemaFromEncoder(enc, opts.unknownFields, opts.maxImagePixels);
  const release = () => fwd.release();
  return tabularServed({ source, name, version, kind: 'tabular', plan, schema, enc, width, run, release }, opts);
}

/** What {@link tabularServed} serves: a tabular model's plan and schema, and how it computes a batch. */
interface TabularParts {
  source: string;
  name: string;
  version: string;
  kind: 'tabular' | 'onnx';
  plan: OutputPlan;
  schema: InputSchema;
  enc: TabularEncoder | null;
  width: number;
  run: BatchFn;
  release: () => Promise<void>;
}

/** A tabular model as a {@link ServedModel}: validated rows, micro-batched runs, labels and probabilities. */
function tabularServed(t: TabularParts, opts: LoadOptions): ServedModel {
  const { name, version, plan, schema, enc, width } = t;
  const batching = { maxBatch: opts.maxBatch, waitMs: opts.batchWaitMs, onBatch: opts.onBatch };
  const batcher = new MicroBatcher(width, t.run, batching);
  const C = plan.classes.length;
  const served: ServedModel = {
    name,
    version,
    kind: t.kind,
    task: plan.task,
    classes: plan.classes,
    schema,
    source: t.source,
    inflight: 0,
    async predict(body) {
      const checked = checkRows(schema, body);
      const x = checked.x ?? enc!.encode(checked.table!, { target: false }).x;
      const out = await batcher.submit(x, checked.rows);
      const n = checked.rows;
      if (plan.task === 'regression') return { predictions: Array.from(out[plan.value!].data as Float32Array) };
      const probabilities: number[][] = [];
      const predictions: string[] = new Array(n);
      const p = plan.probs ? (out[plan.probs].data as Float32Array) : null;
      const l = plan.label ? (out[plan.label].data as BigInt64Array) : null;
      for (let r = 0; r < n; r++) {
        let k = l ? Number(l[r]) : 0;
        if (p) {
          const row = Array.from(p.subarray(r * C, (r + 1) * C));
          probabilities.push(row);
          if (!l) k = row.reduce((b, v, i) => (v > row[b] ? i : b), 0);
        }
        predictions[r] = plan.classes[k] ?? String(k);
      }
      return p ? { predictions, probabilities, classes: plan.classes } : { predictions, classes: plan.classes };
    },
    async generate() {
      throw wrongKind(`${name}@${version}`, t.kind, 'generation');
    },
    async sample() {
      throw wrongKind(`${name}@${version}`, t.kind, 'sampling');
    },
    async warm() {
      for (let i = 0; i < 8; i++) await batcher.submit(new Float32Array(width), 1);
    },
    async close() {
      await batcher.drain();
      await t.release();
    },
  };
  return served;
}

async function lmModel(lm: LmSession, source: string, name: string, version: string): Promise<ServedModel> {
  // Loaded and compiled once per version; the session queues generations (one at a time), and each decode
  // step is one awaited ONNX Runtime call, so other routes run between steps.
  return {
    name,
    version,
    kind: 'lm',
    task: 'generation',
    classes: [],
    schema: null,
    source,
    inflight: 0,
    async predict() {
      throw wrongKind(`${name}@${version}`, 'lm', 'predict');
    },
    async sample() {
      throw wrongKind(`${name}@${version}`, 'lm', 'sampling');
    },
    async generate(req, onText) {
      const r = await lm.generate(req.prompt, { ...req, onText });
      return { text: r.text, tokens: r.tokens.length, promptTokens: r.promptTokens };
    },
    async warm() {
      await lm.generate('a', { maxTokens: 1, temperature: 0 });
    },
    async close() {
      await lm.close();
    },
  };
}

/** A diffusion run served: `sample` draws from its denoiser (one draw at a time); no predict or generate. */
function unetModel(sampler: DiffusionSampler, source: string, name: string, version: string): ServedModel {
  return {
    name,
    version,
    kind: 'unet',
    task: 'generation',
    classes: sampler.config.classNames,
    schema: null,
    source,
    inflight: 0,
    async predict() {
      throw wrongKind(`${name}@${version}`, 'unet', 'predict');
    },
    async generate() {
      throw wrongKind(`${name}@${version}`, 'unet', 'text generation');
    },
    sample: (req) => sampler.draw({ ...req, jsonNames: true }),
    async warm() {
      await sampler.draw({ count: 1, steps: 1 });
    },
    close: () => sampler.release(),
  };
}
