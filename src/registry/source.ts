/**
 * What gets registered: the artefacts of a Switchyard run directory (or a single ONNX file) plus report
 * links, read into memory with their SHA-256, and the lineage that explains where they came from (data
 * fingerprints, config, code version, metrics).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { decodeModel } from '../runtime/onnx/proto.ts';
import { openRun } from '../train/run-dir.ts';
import { SwitchyardError } from '../util/errors.ts';
import {
  listFiles,
  type Manifest,
  MANIFEST_NAME,
  sha256Bytes,
  sha256File,
  stringifyJson,
  isModelArtefact,
} from '../util/fs.ts';
import type { VersionFile } from './version-dir.ts';

/**
 * One artefact to store: its path inside the version, its bytes and their SHA-256.
 *
 * @example
 * const a: SourceArtefact = (await readSource('model.onnx')).artefacts[0]; // { path: 'model.onnx', bytes, sha256 }
 */
export interface SourceArtefact {
  path: string;
  bytes: Buffer;
  sha256: string;
}

/**
 * Everything {@link readSource} found: the kind of model, its artefacts, lineage and metrics.
 *
 * @example
 * const src: RegistrySource = await readSource('runs/penguins');
 * src.kind; // 'tabular'
 */
export interface RegistrySource {
  kind: 'tabular' | 'lm' | 'onnx';
  artefacts: SourceArtefact[];
  lineage: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

/** Run files that are training state, not part of a deployable version. */
const SKIP = new Set(['optimizer.safetensors']);

function sourceError(path: string, what: string, hint: string): SwitchyardError {
  return new SwitchyardError('E_REGISTRY_SOURCE', `${path}: ${what}`, hint);
}

async function readArtefact(abs: string, rel: string): Promise<SourceArtefact> {
  const bytes = await fsp.readFile(abs);
  return { path: rel, bytes, sha256: sha256Bytes(bytes) };
}

function onnxSignature(bytes: Buffer, file: string): Record<string, unknown> {
  try {
    const m = decodeModel(bytes);
    return { opset: m.opset, producer: m.producerName ?? null, inputs: m.graph.inputs, outputs: m.graph.outputs };
  } catch (err) {
    throw sourceError(file, `cannot read it as an ONNX model (${(err as Error).message})`, 'register an .onnx file written by switchyard export or another ONNX exporter');
  }
}

/**
 * SHA-256 fingerprint of a data file or directory named by a run's config. A directory hashes the
 * sorted list of its files' relative paths and hashes. A path that cannot be read is recorded as missing.
 *
 * @example
 * await fingerprintData('data/train.csv'); // { path: 'data/train.csv', sha256: '…', bytes: 1234, files: 1 }
 */
export async function fingerprintData(path: string): Promise<Record<string, unknown>> {
  try {
    const st = await fsp.stat(path);
    if (st.isFile()) return { path, sha256: await sha256File(path), bytes: st.size, files: 1 };
    const files = (await listFiles(path)).sort();
    let bytes = 0;
    const lines: string[] = [];
    for (const f of files) {
      const abs = join(path, ...f.split('/'));
      bytes += (await fsp.stat(abs)).size;
      lines.push(`${await sha256File(abs)}  ${f}`);
    }
    return { path, sha256: sha256Bytes(lines.join('\n')), bytes, files: files.length };
  } catch (err) {
    return { path, missing: true, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}

let codeVersionCache: Record<string, unknown> | undefined;

/**
 * The code that registers (and, for runs trained with this checkout, trained) the model: package name and
 * version, and the git commit of the checkout when it is a git repository.
 *
 * @example
 * codeVersion(); // { package: 'switchyard', version: '0.1.0', commit: '4031585…' }
 */
export function codeVersion(): Record<string, unknown> {
  if (codeVersionCache) return codeVersionCache;
  const root = new URL('../../', import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { name: string; version: string };
  const git = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', timeout: 5000 });
  const commit = git.status === 0 ? git.stdout.trim() : null;
  codeVersionCache = { package: pkg.name, version: pkg.version, commit };
  return codeVersionCache;
}

function dataPaths(config: Record<string, unknown>): string[] {
  const train = (config.train ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  for (const key of ['data', 'valid', 'test']) {
    const v = train[key];
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) out.push(...v.filter((x): x is string => typeof x === 'string'));
  }
  return out;
}

function parseJsonObject(text: string | undefined, file: string): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  throw sourceError(file, 'is not a JSON object', 'the run directory is damaged; re-create it with switchyard train');
}

/**
 * The files of a run directory that its `manifest.json` lists at the top level (training state such as
 * `optimizer.safetensors` left out), each read once and checked against the manifest's SHA-256: what a
 * loader may use, and nothing else. A run without a manifest, or with a model file (`.onnx`,
 * `.safetensors`) the manifest does not list, is refused: such a file was put there after training, and
 * loading it would serve something other than what the run recorded. Other unlisted files (reports, notes)
 * are left alone and never read. `manifest.json` itself comes last.
 *
 * @example
 * const files = await readRunFiles('runs/penguins');
 * files.map((f) => f.path); // ['config.json', 'metrics.json', 'metrics.jsonl', 'model.safetensors', 'manifest.json']
 */
export async function readRunFiles(dir: string): Promise<SourceArtefact[]> {
  const mfile = join(dir, MANIFEST_NAME);
  const { manifest } = await openRun(dir, { files: [] });
  const listed = new Map(manifest.files.filter((f) => !f.path.includes('/')).map((f) => [f.path, f.sha256]));
  const files: SourceArtefact[] = [];
  for (const [path, sha256] of [...listed].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (SKIP.has(path)) continue;
    const a = await readArtefact(join(dir, path), path);
    // Read again after openRun verified them: the bytes used must be the bytes checked, even if the file changed since.
    if (a.sha256 !== sha256) {
      const what = `${mfile}: ${path}: changed while being read (sha256 ${a.sha256}, manifest ${sha256})`;
      throw new SwitchyardError('E_MANIFEST', what, 'something is writing into the run directory; load it when it is done');
    }
    files.push(a);
  }
  files.push(await readArtefact(mfile, MANIFEST_NAME));
  return files;
}

/**
 * The files of a run (as {@link readRunFiles} read them, or as a registry version holds them) ready to be
 * written out and loaded: each checked against the run's own manifest, and that manifest rewritten to list just
 * these files (training state such as `optimizer.safetensors` is left out), so the written directory verifies
 * like a run. A model file the manifest does not list (a version registered before such files were refused) is
 * refused with `E_UNLISTED_MODEL`; files without a manifest (a single ONNX file) are returned as they are.
 *
 * @param files the verified files of one version
 * @param what the version, for messages (`penguins@3`, or a run directory)
 * @example
 * const files = loadableRunFiles(await readRunFiles('runs/penguins'), 'runs/penguins');
 */
export function loadableRunFiles(files: VersionFile[], what: string): VersionFile[] {
  const own = files.find((f) => f.path === MANIFEST_NAME);
  if (!own) return files;
  let manifest: Manifest | undefined;
  try {
    manifest = JSON.parse(Buffer.from(own.bytes).toString('utf8')) as Manifest;
  } catch {
    /* reported below */
  }
  const again = 'register the run again';
  if (!Array.isArray(manifest?.files)) throw new SwitchyardError('E_MANIFEST', `${what}: ${MANIFEST_NAME} is not a manifest`, again);
  const listed = new Map(manifest.files.map((f) => [f.path, f.sha256]));
  for (const f of files) {
    if (f.path === MANIFEST_NAME || f.path.startsWith('reports/')) continue; // report links are never loaded
    const sha = listed.get(f.path);
    if (sha === undefined && isModelArtefact(f.path)) {
      const hint = 'it was put beside the run before it was registered; register the run again without it';
      throw new SwitchyardError('E_UNLISTED_MODEL', `${what}: ${f.path} is a model file its manifest does not list`, hint);
    }
    if (sha !== undefined && sha !== f.sha256) {
      throw new SwitchyardError('E_MANIFEST', `${what}: ${f.path} has sha256 ${f.sha256}, its manifest says ${sha}`, again);
    }
  }
  const held = new Set(files.map((f) => f.path));
  const narrowed = stringifyJson({ ...manifest, files: manifest.files.filter((f) => held.has(f.path)) }, 2) + '\n';
  const ownNarrowed = { path: MANIFEST_NAME, bytes: Buffer.from(narrowed), sha256: sha256Bytes(narrowed) };
  return files.map((f) => (f === own ? ownNarrowed : f));
}

async function readRunDir(dir: string): Promise<RegistrySource> {
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile)) {
    throw sourceError(dir, 'is not a Switchyard run directory (no config.json with format "switchyard.run")', 'pass a directory written by switchyard train, or a single .onnx file');
  }
  // Only what the manifest lists, verified: a file planted beside the run is refused or never read.
  const artefacts = await readRunFiles(dir);
  const bytesOf = (name: string) => artefacts.find((a) => a.path === name)?.bytes.toString('utf8');
  const config = parseJsonObject(bytesOf('config.json'), configFile);
  if (!config || config.format !== 'switchyard.run') {
    const what = 'is not a Switchyard run directory (no config.json with format "switchyard.run" in its manifest)';
    throw sourceError(dir, what, 'pass a directory written by switchyard train, or a single .onnx file');
  }
  const names = artefacts.map((a) => a.path);
  if (!names.includes('model.safetensors') && !names.includes('model.onnx')) {
    throw sourceError(dir, 'holds no model (model.safetensors or model.onnx)', 'train the run to the end');
  }
  const onnx = artefacts.find((a) => a.path === 'model.onnx');
  const data: Record<string, unknown>[] = [];
  for (const p of dataPaths(config)) data.push(await fingerprintData(p));
  const kind = config.kind === 'gpt' ? 'lm' : config.kind === 'tabular-mlp' ? 'tabular' : 'onnx';
  return {
    kind,
    artefacts,
    metrics: parseJsonObject(bytesOf('metrics.json'), join(dir, 'metrics.json')),
    lineage: { source: { type: 'run', path: dir, runKind: config.kind ?? null }, data, config, onnx: onnx ? onnxSignature(onnx.bytes, join(dir, 'model.onnx')) : null },
  };
}

/**
 * Reads a run directory or a single `.onnx` file (stored as `model.onnx`), plus report links (`audit`,
 * `eval`, …; files or directories, copied under `reports/<key>/`), and computes the lineage.
 *
 * @example
 * const src = await readSource('runs/penguins', { audit: 'reports/audit.html' });
 * src.artefacts.map((a) => a.path); // ['config.json', 'metrics.json', 'model.onnx', 'model.safetensors', 'reports/audit/audit.html']
 */
export async function readSource(from: string, links: Record<string, string> = {}): Promise<RegistrySource> {
  const abs = resolve(from);
  const st = await fsp.stat(abs).catch(() => undefined);
  if (!st) throw sourceError(from, 'no such file or directory', 'pass a run directory written by switchyard train, or an .onnx file');
  let src: RegistrySource;
  if (st.isDirectory()) src = await readRunDir(abs);
  else {
    if (!/\.onnx$/i.test(abs)) throw sourceError(from, 'is neither a run directory nor an .onnx file', 'pass a run directory written by switchyard train, or an .onnx file');
    const art = await readArtefact(abs, 'model.onnx');
    src = { kind: 'onnx', artefacts: [art], lineage: { source: { type: 'onnx', path: abs }, data: [], config: null, onnx: onnxSignature(art.bytes, from) } };
  }
  const linked: Record<string, string[]> = {};
  for (const [key, path] of Object.entries(links)) {
    if (!/^[a-z][a-z0-9_-]{0,31}$/.test(key)) throw sourceError(path, `report link name '${key}' is not valid`, 'use a short lower-case word such as audit or eval');
    const lst = await fsp.stat(path).catch(() => undefined);
    if (!lst) throw sourceError(path, `no such file or directory (--${key})`, 'pass the report file or directory written by the audit or eval command');
    const files = lst.isDirectory() ? (await listFiles(path)).sort().map((r) => [join(path, ...r.split('/')), r] as const) : [[path, basename(path)] as const];
    linked[key] = [];
    for (const [file, rel] of files) {
      const a = await readArtefact(file, `reports/${key}/${rel}`);
      src.artefacts.push(a);
      linked[key].push(a.path);
    }
  }
  src.lineage = { ...src.lineage, links: linked, code: codeVersion() };
  return src;
}
