/**
 * Run directories: the one way to open a finished run for reading ({@link openRun}: manifest verified, only
 * listed files handed out), strict recognition of a run ({@link isRunDir}) so `--force` never deletes anything
 * else, and the place a training invocation writes to ({@link prepareRunDir}, {@link finishRunDir}).
 *
 * Layout: `config.json`, `model.safetensors` (the weights the run ships: the best validation epoch when there is
 * validation), `metrics.jsonl`, `metrics.json`, `tokenizer.json` (language models: Hugging Face format), `checkpoint/` (the last state, for `--resume`: one atomic set
 * with its own manifest), `manifest.json` (every file with its SHA-256, written when an invocation finishes).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SwitchyardError } from '../util/errors.ts';
import {
  commitDirAtomic, isModelArtefact, type Manifest, MANIFEST_NAME, removeStaleTempDirs, sha256Bytes, tempDirFor, verifyManifest,
  writeManifest,
} from '../util/fs.ts';
import type { ProgressStream } from '../util/progress.ts';
import type { DeviceChoice } from '../runtime/compile-for.ts';

/** File names inside a run directory (and inside its `checkpoint/` set). */
export const RUN_FILES = {
  model: 'model.safetensors',
  optimizer: 'optimizer.safetensors',
  config: 'config.json',
  metrics: 'metrics.jsonl',
  summary: 'metrics.json',
  checkpoint: 'checkpoint',
  best: 'best.safetensors',
  /** A diffusion run's exponential moving average of the weights (sampling uses it). */
  ema: 'ema.safetensors',
  state: 'state.json',
  /** A language-model run's tokenizer as a Hugging Face `tokenizer.json`. */
  tokenizer: 'tokenizer.json',
} as const;

/** The kinds of run `switchyard train` writes. */
export const RUN_KINDS = [
  'tabular-mlp', 'gpt', 'encoder', 'text-classifier', 'unet', 'conv-encoder', 'image-classifier',
] as const;

/** The fields every run's `config.json` has. */
export interface RunHeader {
  format: 'switchyard.run';
  version: 1;
  kind: (typeof RUN_KINDS)[number];
  [key: string]: unknown;
}

/** A verified run directory: its config, its manifest, and the paths of the files the manifest lists. */
export interface OpenedRun {
  dir: string;
  config: RunHeader;
  manifest: Manifest;
  /** The path of a listed file; anything the manifest does not list is an `E_MANIFEST` error. */
  file(rel: string): string;
  /** Whether the manifest lists `rel`. */
  lists(rel: string): boolean;
}

/**
 * Resume state, which loaders never read and registry copies leave out: `checkpoint/`, and in runs written
 * before it existed, `optimizer.safetensors` and `best/`.
 */
const isResumeState = (rel: string): boolean =>
  [RUN_FILES.checkpoint, 'best'].includes(rel.split('/')[0]) || rel === RUN_FILES.optimizer;

/** Entries a training invocation writes at the top of a run directory (anything else must be listed). */
const RUN_ENTRIES = [
  RUN_FILES.config, RUN_FILES.model, RUN_FILES.metrics, RUN_FILES.summary, MANIFEST_NAME, RUN_FILES.checkpoint, RUN_FILES.tokenizer,
];

function runHeaderProblem(cfg: unknown): string | undefined {
  const c = cfg as Partial<RunHeader> | null;
  if (!c || typeof c !== 'object' || Array.isArray(c)) return 'not a JSON object';
  if (c.format !== 'switchyard.run') return `format is ${JSON.stringify(c.format)}, not "switchyard.run"`;
  if (c.version !== 1) return `version ${JSON.stringify(c.version)} is not 1`;
  if (!RUN_KINDS.includes(c.kind as RunHeader['kind'])) {
    return `kind ${JSON.stringify(c.kind)} is not one of ${RUN_KINDS.join(', ')}`;
  }
  return undefined;
}

function parseRunHeader(file: string, text: string): RunHeader {
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    const what = `${file}: not valid JSON (${(e as Error).message})`;
    throw new SwitchyardError('E_CONFIG', what, 'the run directory is damaged; retrain');
  }
  const why = runHeaderProblem(cfg);
  if (why) {
    throw new SwitchyardError('E_CONFIG', `${file}: not a Switchyard run config (${why})`, 'pass a directory written by switchyard train');
  }
  return cfg as RunHeader;
}

function noManifest(dir: string): SwitchyardError {
  const ck = join(dir, RUN_FILES.checkpoint);
  const interrupted = existsSync(ck) || existsSync(`${ck}.old`);
  const why = interrupted ? ' (its training was interrupted or is still running)' : '';
  return new SwitchyardError(
    'E_MANIFEST',
    `${join(dir, MANIFEST_NAME)}: no manifest, so the run cannot be verified${why}`,
    interrupted
      ? `finish it with switchyard train --resume --out ${dir}, or retrain it`
      : 'pass a run directory written by switchyard train, or retrain it',
  );
}

/**
 * Opens a finished run directory for reading. Verifies `manifest.json`: size and SHA-256 of every listed file
 * except resume state such as `checkpoint/` (loaders never read it; registry copies leave it out). Requires
 * `config.json` and `files` (default `model.safetensors`) to be listed, refuses unlisted model files anywhere
 * in the directory (`E_MANIFEST`; other unlisted files such as reports are allowed, never read), and checks the
 * config's format, version and `kinds`. A missing manifest is `E_MANIFEST` with a hint. Every loader of a run
 * uses this.
 *
 * @example
 * const run = await openRun('runs/x', { kinds: ['tabular-mlp'] });
 * await loadSafetensors(run.file('model.safetensors'));
 */
export async function openRun(
  dir: string, opts: { kinds?: readonly string[]; files?: readonly string[] } = {},
): Promise<OpenedRun> {
  const cfgFile = join(dir, RUN_FILES.config);
  if (!existsSync(cfgFile)) {
    const aside = replacedAside(dir);
    const hint = existsSync(aside)
      ? `a --force replacement was interrupted; the previous run is in ${aside}: rename it back to ${dir}`
      : 'pass the --out directory of a finished switchyard train run';
    throw new SwitchyardError('E_FILE_NOT_FOUND', `${cfgFile}: no such file`, hint);
  }
  if (!existsSync(join(dir, MANIFEST_NAME))) throw noManifest(dir);
  const files = opts.files ?? [RUN_FILES.model];
  const require = [RUN_FILES.config, ...files];
  const manifest = await verifyManifest(dir, { rejectUnlisted: isModelArtefact, skip: isResumeState, require });
  const config = parseRunHeader(cfgFile, await readFile(cfgFile, 'utf8'));
  if (opts.kinds && !opts.kinds.includes(config.kind)) {
    const what = `${cfgFile}: a run of kind ${config.kind}, this needs ${opts.kinds.join(' or ')}`;
    throw new SwitchyardError('E_CONFIG', what, 'pass a run of the right kind');
  }
  const listed = new Set(manifest.files.map((f) => f.path));
  return {
    dir,
    config,
    manifest,
    lists: (rel) => listed.has(rel),
    file: (rel) => {
      if (!listed.has(rel)) {
        const what = `${join(dir, MANIFEST_NAME)}: ${rel}: not listed in the manifest`;
        throw new SwitchyardError('E_MANIFEST', what, 'the run directory is incomplete or was modified; retrain it');
      }
      return join(dir, ...rel.split('/'));
    },
  };
}

/**
 * The `config.json` text of a run that `--resume` continues, verified: with a manifest (a finished invocation)
 * every listed file must match it, checkpoint included, and no model file may be unlisted; without one (an
 * interrupted invocation) the checkpoint's own manifest and recorded config hash are checked when it is loaded.
 *
 * @example
 * const text = await readResumableConfig('runs/x');
 */
export async function readResumableConfig(dir: string): Promise<string> {
  const file = join(dir, RUN_FILES.config);
  if (!existsSync(file)) throw new SwitchyardError('E_FILE_NOT_FOUND', `${file}: nothing to resume`, 'run without --resume first');
  if (existsSync(join(dir, MANIFEST_NAME))) {
    await verifyManifest(dir, { rejectUnlisted: isModelArtefact, require: [RUN_FILES.config] });
  }
  const text = await readFile(file, 'utf8');
  parseRunHeader(file, text);
  return text;
}

/**
 * Whether `dir` holds a Switchyard run, recognised strictly: a `config.json` with the run format, version 1 and
 * a known kind; a manifest listing that exact config (or, for an interrupted run, a checkpoint that records its
 * hash); and nothing at the top level but the entries a run writes or files its manifest lists.
 *
 * @example
 * await isRunDir('runs/x'); // true
 * await isRunDir('my-project'); // false, even with a config.json
 */
export async function isRunDir(dir: string): Promise<boolean> {
  const text = await readFile(join(dir, RUN_FILES.config), 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch {
    return false;
  }
  if (runHeaderProblem(cfg)) return false;
  const hash = sha256Bytes(text);
  const readJson = async (file: string): Promise<Record<string, unknown> | undefined> => {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const manifest = (await readJson(join(dir, MANIFEST_NAME))) as Partial<Manifest> | undefined;
  const entries = Array.isArray(manifest?.files) ? manifest.files : [];
  const listedTop = new Set(entries.map((f) => String(f?.path).split('/')[0]));
  // `entries`, not `manifest.files`: a manifest whose "files" is not a list vouches for nothing (and must not throw).
  let vouched = entries.some((f) => f?.path === RUN_FILES.config && f.sha256 === hash);
  if (!manifest) {
    for (const ck of [RUN_FILES.checkpoint, `${RUN_FILES.checkpoint}.old`]) {
      const state = await readJson(join(dir, ck, RUN_FILES.state));
      if (state?.configSha256 === hash) vouched = true;
    }
  }
  if (!vouched) return false;
  const own = (name: string) =>
    RUN_ENTRIES.includes(name) || listedTop.has(name) || /^checkpoint\.(old|tmp-\d+)$/.test(name)
    // A diffusion run's EMA weights, and its snapshots (see emaSnapshotFile), written before the manifest.
    || /^ema(-\d+)?\.safetensors$/.test(name);
  return (await readdir(dir)).every(own);
}

/** Where a training invocation writes, from {@link prepareRunDir}. */
export interface RunTarget {
  /** The directory to write: `--out` itself, or a fresh sibling when it replaces a run. */
  work: string;
  /** The `--out` directory. */
  out: string;
  /** True when `work` replaces the run in `out` at {@link finishRunDir}. */
  replace: boolean;
}

/**
 * Decides where a training invocation writes. `--resume` continues in place; a new or empty `out` is written
 * in place (so an interrupted run can be resumed); an existing run is refused unless `force`, and then the new
 * run is built in a sibling directory and swapped in by {@link finishRunDir} (a crash meanwhile leaves the old
 * run intact). A directory that is not a run ({@link isRunDir}) is never written into or deleted.
 *
 * @example
 * const target = await prepareRunDir('runs/x', { resume: false, force: true });
 */
export async function prepareRunDir(dir: string, o: { resume?: boolean; force?: boolean }): Promise<RunTarget> {
  const same = { work: dir, out: dir, replace: false };
  if (o.resume && o.force) {
    const hint = 'use --resume to continue the run, or --force (without --resume) to replace it';
    throw new SwitchyardError('E_USAGE', `${dir}: --resume and --force together: continue the run or replace it?`, hint);
  }
  if (o.resume) return same;
  await removeStaleTempDirs(dir);
  const st = await stat(dir).catch(() => undefined);
  if (!st) return same;
  if (!st.isDirectory()) {
    throw new SwitchyardError('E_OUTPUT', `${dir}: --out is a file, not a directory`, 'pass a new directory for the run');
  }
  if ((await readdir(dir)).length === 0) return same;
  if (!(await isRunDir(dir))) {
    const what = `${dir}: --out is a directory that is not empty and is not a Switchyard run; refusing to write into it or`
      + ` replace it${o.force ? ' (even with --force)' : ''}`;
    throw new SwitchyardError('E_OUT_NOT_RUN', what, 'pick a new or empty --out directory');
  }
  if (!o.force) {
    const hint = 'continue it with --resume, pick another --out, or replace it with --force';
    throw new SwitchyardError('E_RUN_EXISTS', `${dir} already holds a run (config.json)`, hint);
  }
  const work = tempDirFor(dir);
  await rm(work, { recursive: true, force: true });
  return { work, out: dir, replace: true };
}

/**
 * Ends a training invocation: writes the manifest of the run and, when it replaces an older run, swaps it in.
 *
 * @example
 * await finishRunDir(await prepareRunDir('runs/x', { force: true }));
 */
export async function finishRunDir(t: RunTarget): Promise<void> {
  await writeManifest(t.work);
  if (t.replace) await commitDirAtomic(t.work, t.out, { aside: replacedAside(t.out) });
}

/** Where the old run waits while a `--force` replacement is renamed in (a fixed name, so a crash there is named). */
const replacedAside = (dir: string): string => `${dir.replace(/[\\/]+$/, '')}.replaced`;

/** How one invocation of a training workflow treats its run directory, threads and progress display. */
export interface RunOptions {
  /** Continue the run in `out` from its last checkpoint, with the hyper-parameters saved in its config. */
  resume?: boolean;
  /** Replace an existing run in `out` (otherwise a fresh run refuses to overwrite one). */
  force?: boolean;
  /** Stop this invocation after this many epochs (tabular) or updates (LM); continue later with `resume`. */
  stopAfter?: number;
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
  /**
   * Where the model trains (default `cpu`; see {@link DeviceChoice}). Not a hyper-parameter: a run resumes on any
   * device, and `metrics.json` records where its last invocation ran.
   */
  device?: DeviceChoice;
  /** The progress bar on stderr: `enabled` (default: when stderr is a TTY) and the stream it writes to. */
  progress?: { stream?: ProgressStream; enabled?: boolean };
}
