/**
 * `train --init-from`: start a new run from existing weights. The source is a Switchyard run directory (opened
 * through {@link openRun}: manifest verified), a `.safetensors` file, or a Hugging Face GPT-2 directory
 * (`config.json` with `model_type: "gpt2"` + `model.safetensors`). GPT-2 names are recognised and converted
 * ({@link hfGpt2ToGpt}); such a directory's `tokenizer.json`, when it has one, is the tokenizer of the weights, as a
 * run's own is. A name map renames source tensors first. Matching is strict by default: every tensor
 * of the new model must be found with its shape and every source tensor must be used, else one `E_INIT_MISMATCH`
 * error lists the differences. `partial` leaves missing or resized tensors at their fresh initialisation and
 * allows unused source tensors; `reshape` copies the overlap of resized tensors (a grown vocabulary or position
 * table). The optimizer starts fresh: this is a new run, not `--resume`.
 *
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadTokenizer, type Tokenizer, tokenizerFromJSON } from '../data/text/tokenizer.ts';
import { type F32Tensors, gptFromHfGpt2, type HfGpt2Config, hfGpt2ToGpt, isHfGpt2Names } from '../models/hf-gpt2.ts';
import type { GptConfig } from '../models/gpt.ts';
import type { Module } from '../nn/module.ts';
import { decodeSafetensors, type NamedTensor } from '../runtime/safetensors.ts';
import { SwitchyardError } from '../util/errors.ts';
import { MANIFEST_NAME, sha256Bytes } from '../util/fs.ts';
import { openRun, RUN_FILES, type RunHeader } from './run-dir.ts';

/**
 * Renames applied to the source's tensor names (as stored in the file) before matching: each `[pattern,
 * replacement]` in order, as `name.replace(new RegExp(pattern), replacement)`; then names matching an
 * `ignore` pattern are dropped (reported as ignored, never as unused).
 *
 * @example
 * const map: InitNameMap = { rename: [['^model\\.', '']], ignore: ['^layers\\.2\\.'] };
 */
export interface InitNameMap {
  rename?: [string, string][];
  ignore?: string[];
}

/**
 * Options of `--init-from`.
 *
 * @example
 * const init: InitFromOptions = { path: 'runs/base', partial: true };
 */
export interface InitFromOptions {
  /** A run directory, a `.safetensors` file, or a GPT-2 directory (`config.json` + `model.safetensors`). */
  path: string;
  map?: InitNameMap;
  /** Leave tensors the source lacks (or has in another shape) fresh; allow unused source tensors. */
  partial?: boolean;
  /** Copy the overlap of a tensor the source has in another shape of the same rank; the rest stays fresh. */
  reshape?: boolean;
}

/** Weights read for `--init-from`, renamed to our names, with what is known of where they came from. */
export interface InitSource {
  options: InitFromOptions;
  kind: 'run' | 'safetensors' | 'hf-gpt2-dir';
  /** `switchyard` names, or `hf-gpt2` when GPT-2 names were converted. */
  layout: 'switchyard' | 'hf-gpt2';
  /** SHA-256 of the run's `manifest.json`, or of the weights file. */
  sha256: string;
  /** The run's config.json (runs only). */
  run?: RunHeader;
  /** The model config the weights describe, as far as it is known (GPT and encoder runs, GPT-2 checkpoints). */
  gpt?: Partial<GptConfig>;
  tensors: F32Tensors;
  ignored: string[];
  /**
   * The tokenizer the weights were trained with, when the source holds one (a GPT or encoder run's, or a GPT-2 directory's
   * `tokenizer.json`), and the file it was read from.
   */
  tokenizer?: { tokenizer: Tokenizer; file: string };
}

/** What `--init-from` did, recorded in the new run's config.json and metrics.json. */
export interface InitReport {
  path: string;
  kind: InitSource['kind'];
  layout: InitSource['layout'];
  sha256: string;
  partial: boolean;
  reshape: boolean;
  map?: InitNameMap;
  loaded: string[];
  reshaped: { name: string; from: number[]; to: number[] }[];
  fresh: string[];
  unused: string[];
  ignored: string[];
  /** The file the new run's tokenizer was read from, when it came with the weights. */
  tokenizer?: string;
}

const bad = (code: string, what: string, hint: string) => new SwitchyardError(code, what, hint);
const MAP_HINT = 'write {"rename": [["pattern", "replacement"], ...], "ignore": ["pattern", ...]}';

/**
 * Reads and checks a name map file (`--init-map`): a JSON object `{ "rename": [[pattern, replacement], ...],
 * "ignore": [pattern, ...] }` whose patterns are regular expressions.
 *
 * @example
 * const map = await loadInitMap('map.json');
 */
export async function loadInitMap(file: string): Promise<InitNameMap> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw bad('E_FILE_NOT_FOUND', `${file}: cannot read the --init-map file`, 'check the path');
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad('E_INIT_MAP', `${file}: not valid JSON (${(e as Error).message})`, MAP_HINT);
  }
  return checkInitMap(json, file);
}

function checkInitMap(json: unknown, where: string): InitNameMap {
  const fail = (what: string) => bad('E_INIT_MAP', `${where}: ${what}`, MAP_HINT);
  const o = json as Record<string, unknown>;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw fail('the name map is not a JSON object');
  const extra = Object.keys(o).find((k) => k !== 'rename' && k !== 'ignore');
  if (extra) throw fail(`unknown key "${extra}"`);
  const isText = (s: unknown) => typeof s === 'string';
  const isPair = (r: unknown) => Array.isArray(r) && r.length === 2 && r.every(isText);
  const listOf = (v: unknown, ok: (x: unknown) => boolean) => v === undefined || (Array.isArray(v) && v.every(ok));
  if (!listOf(o.rename, isPair)) throw fail('"rename" is not a list of [pattern, replacement] pairs');
  if (!listOf(o.ignore, isText)) throw fail('"ignore" is not a list of patterns');
  const map = { rename: o.rename as [string, string][] | undefined, ignore: o.ignore as string[] | undefined };
  for (const p of [...(map.rename ?? []).map((r) => r[0]), ...(map.ignore ?? [])]) {
    try {
      new RegExp(p);
    } catch (e) {
      throw fail(`pattern ${JSON.stringify(p)} is not a regular expression (${(e as Error).message})`);
    }
  }
  return map;
}

/** Applies the name map to the source's names: renamed tensors, and the names it ignored. */
function renameTensors(
  tensors: Map<string, NamedTensor>, map: InitNameMap | undefined, path: string,
): { kept: Map<string, NamedTensor>; ignored: string[] } {
  const kept = new Map<string, NamedTensor>();
  const ignored: string[] = [];
  const ignore = (map?.ignore ?? []).map((p) => new RegExp(p));
  for (const [name, t] of tensors) {
    const to = (map?.rename ?? []).reduce((n, [p, r]) => n.replace(new RegExp(p), r), name);
    if (ignore.some((re) => re.test(to))) ignored.push(name);
    else if (kept.has(to)) {
      throw bad('E_INIT_MAP', `${path}: the name map names two tensors '${to}'`, 'make the renames one-to-one');
    }
    else kept.set(to, t);
  }
  return { kept, ignored };
}

function asSwitchyard(tensors: Map<string, NamedTensor>, path: string): F32Tensors {
  const out: F32Tensors = new Map();
  for (const [n, t] of tensors) {
    if (t.dtype !== 'F32') {
      throw bad('E_INIT_MISMATCH', `${path}: tensor '${n}' is ${t.dtype}, not F32`, 'save the weights as float32');
    }
    out.set(n, { shape: t.shape, data: t.data as Float32Array });
  }
  return out;
}

async function readHfConfig(file: string): Promise<Partial<HfGpt2Config> | undefined> {
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw bad('E_HF_GPT2', `${file}: not valid JSON (${(e as Error).message})`, 'pass a GPT-2 config.json');
  }
  const c = json as Partial<HfGpt2Config>;
  if (!c || typeof c !== 'object' || c.model_type !== 'gpt2') return undefined;
  if (c.n_head !== undefined && !(Number.isInteger(c.n_head) && c.n_head > 0)) {
    throw bad('E_HF_GPT2', `${file}: n_head ${String(c.n_head)} is not a positive integer`, 'fix config.json');
  }
  return c;
}

/**
 * Reads the weights `--init-from` names, after checking them: a run directory through {@link openRun} (its
 * manifest verified; `kinds` restricts the run kinds), a `.safetensors` file, or a GPT-2 directory. The name
 * map is applied, then GPT-2 names (`h.0.attn.c_attn.weight`, with or without `transformer.`) are converted to
 * ours, with the model config they describe (`config.json` beside them gives heads and activation).
 *
 * @example
 * const src = await readInitSource({ path: 'runs/base' }, ['gpt']);
 */
export async function readInitSource(options: InitFromOptions, kinds?: readonly string[]): Promise<InitSource> {
  const path = options.path;
  if (options.map) checkInitMap(options.map, '--init-map');
  const st = existsSync(path) ? statSync(path) : undefined;
  const hint = 'pass a run directory or a .safetensors file';
  if (!st) throw bad('E_FILE_NOT_FOUND', `${path}: no such file or directory (--init-from)`, hint);
  let kind: InitSource['kind'];
  let file: string;
  let run: RunHeader | undefined;
  let hf: Partial<HfGpt2Config> | undefined;
  let sha256: string;
  let tokenizer: InitSource['tokenizer'];
  if (st.isDirectory()) {
    hf = await readHfConfig(join(path, RUN_FILES.config));
    if (hf) {
      kind = 'hf-gpt2-dir';
      file = join(path, RUN_FILES.model);
      const tokFile = join(path, RUN_FILES.tokenizer);
      if (existsSync(tokFile)) tokenizer = { tokenizer: await loadTokenizer(tokFile), file: tokFile };
    } else {
      const opened = await openRun(path, { kinds });
      kind = 'run';
      run = opened.config;
      file = opened.file(RUN_FILES.model);
      sha256 = sha256Bytes(await readFile(join(path, MANIFEST_NAME)));
      if ((run.kind === 'gpt' || run.kind === 'encoder') && run.tokenizer) {
        tokenizer = { tokenizer: tokenizerFromJSON(run.tokenizer), file: join(path, RUN_FILES.config) };
      }
    }
  } else {
    const what = `${path}: --init-from takes a run directory or a .safetensors file`;
    if (!/\.safetensors$/i.test(path)) throw bad('E_USAGE', what, hint);
    kind = 'safetensors';
    file = path;
    hf = await readHfConfig(join(dirname(path), RUN_FILES.config));
  }
  const bytes = await readFile(file).catch(() => {
    throw bad('E_FILE_NOT_FOUND', `${file}: cannot read the weights`, 'check the path');
  });
  sha256 ??= sha256Bytes(bytes);
  const { tensors: raw } = decodeSafetensors(bytes, file);
  const { kept, ignored } = renameTensors(raw, options.map, path);
  const base = { options, kind, sha256, run, ignored, ...(tokenizer ? { tokenizer } : {}) };
  if (isHfGpt2Names(kept.keys())) {
    const tensors = hfGpt2ToGpt(kept, file);
    return { ...base, layout: 'hf-gpt2', tensors, gpt: gptFromHfGpt2(tensors, hf, file) };
  }
  const gpt = run?.kind === 'gpt' || run?.kind === 'encoder' ? (run as unknown as { gpt: GptConfig }).gpt : undefined;
  return { ...base, layout: 'switchyard', tensors: asSwitchyard(kept, file), gpt };
}

const shapeText = (s: number[]) => `[${s.join(',')}]`;
const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Copies the leading overlap of `src` (shape `from`) into `dst` (shape `to`, same rank), row-major. */
function copyOverlap(src: Float32Array, from: number[], dst: Float32Array, to: number[]): void {
  const overlap = from.map((d, i) => Math.min(d, to[i]));
  if (overlap.some((d) => d === 0)) return;
  const rank = to.length;
  const idx = new Array<number>(rank).fill(0);
  const strides = (s: number[]) => s.map((_, i) => s.slice(i + 1).reduce((a, b) => a * b, 1));
  const fs = strides(from);
  const ts = strides(to);
  for (;;) {
    let fi = 0;
    let ti = 0;
    for (let k = 0; k < rank; k++) {
      fi += idx[k] * fs[k];
      ti += idx[k] * ts[k];
    }
    dst[ti] = src[fi];
    let k = rank - 1;
    while (k >= 0 && ++idx[k] === overlap[k]) idx[k--] = 0;
    if (k < 0) return;
  }
}

function listText(label: string, items: string[]): string {
  const shown = items.slice(0, 12).join(', ');
  return `${label} ${shown}${items.length > 12 ? ` and ${items.length - 12} more` : ''}`;
}

/**
 * Sets `model`'s parameters (already initialised fresh) from `source`, by name. Strict unless `partial`/
 * `reshape` (see {@link InitFromOptions}); a mismatch is one `E_INIT_MISMATCH` error listing missing,
 * resized and unused tensors, thrown before anything is assigned. Parameters named by `newParams` (a head the
 * source cannot have, e.g. a classifier's) stay fresh and are reported as such, in strict mode too.
 *
 * @example
 * const report = applyInitSource(new GPT(cfg).init(0), await readInitSource({ path: 'runs/base' }));
 */
export function applyInitSource(model: Module, source: InitSource, newParams?: RegExp): InitReport {
  const { partial = false, reshape = false, map } = source.options;
  const report: InitReport = {
    path: source.options.path, kind: source.kind, layout: source.layout, sha256: source.sha256, partial, reshape,
    ...(map ? { map } : {}), loaded: [], reshaped: [], fresh: [], unused: [], ignored: source.ignored,
  };
  const missing: string[] = [];
  const resized: string[] = [];
  const used = new Set<string>();
  const plan: (() => void)[] = [];
  for (const [name, p] of model.named().namedParameters()) {
    const t = source.tensors.get(name);
    if (newParams?.test(name)) {
      report.fresh.push(name);
      continue;
    }
    if (!t) {
      (partial ? report.fresh : missing).push(name);
      continue;
    }
    used.add(name);
    if (sameShape(t.shape, p.shape)) {
      report.loaded.push(name);
      plan.push(() => (p.data = Float32Array.from(t.data)));
    } else if (reshape && t.shape.length === p.shape.length) {
      report.reshaped.push({ name, from: t.shape, to: p.shape });
      plan.push(() => copyOverlap(t.data, t.shape, p.data, p.shape));
    } else if (partial) report.fresh.push(name);
    else resized.push(`${name} ${shapeText(t.shape)} vs ${shapeText(p.shape)}`);
  }
  report.unused = [...source.tensors.keys()].filter((n) => !used.has(n));
  const problems = [
    missing.length ? listText('missing', missing) : '',
    resized.length ? listText('shape', resized) : '',
    report.unused.length && !partial ? listText('unused', report.unused) : '',
  ].filter(Boolean);
  if (problems.length) {
    const hint = 'pass --init-partial to leave unmatched tensors fresh, --init-reshape to copy the overlap of resized'
      + ' ones, or --init-map FILE to rename';
    const what = `${source.options.path}: --init-from does not fit the model: ${problems.join('; ')}`;
    throw bad('E_INIT_MISMATCH', what, hint);
  }
  for (const f of plan) f();
  return report;
}

/**
 * One line for stderr saying what {@link applyInitSource} did.
 *
 * @example
 * process.stderr.write(initReportLine(report) + '\n'); // init-from runs/base: loaded 14, reshaped 0, fresh 2 (...)
 */
export function initReportLine(r: InitReport): string {
  const counts = `loaded ${r.loaded.length}, reshaped ${r.reshaped.length}, fresh ${r.fresh.length}`
    + `, unused ${r.unused.length}`;
  const resized = r.reshaped.map((x) => `${x.name} ${shapeText(x.from)}->${shapeText(x.to)}`);
  const details = [
    resized.length ? listText('reshaped', resized) : '',
    r.fresh.length ? listText('fresh', r.fresh) : '',
    r.unused.length ? listText('unused', r.unused) : '',
    r.ignored.length ? listText('ignored', r.ignored) : '',
  ].filter(Boolean);
  const more = details.length ? ` (${details.join('; ')})` : '';
  const tokenizer = r.tokenizer ? `; tokenizer ${r.tokenizer}` : '';
  return `init-from ${r.path} (${r.layout}, sha256 ${r.sha256.slice(0, 12)}): ${counts}${more}${tokenizer}`;
}

/**
 * The source of a training workflow's `initFrom` option: read ({@link readInitSource}) unless already read, or
 * undefined without one. With `resume` it is `E_USAGE` (a resumed run continues from its own checkpoint).
 *
 * @example
 * const source = await initSourceOf({ out: 'runs/new', initFrom: { path: 'runs/base' } }, ['gpt']);
 */
export async function initSourceOf(
  o: { out: string; resume?: boolean; initFrom?: InitFromOptions | InitSource }, kinds: readonly string[],
): Promise<InitSource | undefined> {
  if (!o.initFrom) return undefined;
  if (o.resume) {
    const hint = 'a resumed run continues from its checkpoint; --init-from starts a new run';
    throw bad('E_USAGE', `${o.out}: --init-from and --resume together`, hint);
  }
  return 'tensors' in o.initFrom ? o.initFrom : readInitSource(o.initFrom, kinds);
}

/**
 * {@link applyInitSource}, and its {@link initReportLine} on stderr when `log`. `tokenizer` names the file the new
 * run's tokenizer came from when it is the source's ({@link InitSource.tokenizer}); `newParams` as in
 * {@link applyInitSource}.
 *
 * @example
 * cfg.initFrom = initModelFrom(model, source, true, source.tokenizer?.file);
 */
export function initModelFrom(
  model: Module, source: InitSource, log: boolean, tokenizer?: string, newParams?: RegExp,
): InitReport {
  const report: InitReport = { ...applyInitSource(model, source, newParams), ...(tokenizer ? { tokenizer } : {}) };
  if (log) process.stderr.write(initReportLine(report) + '\n');
  return report;
}
