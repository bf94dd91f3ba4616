/**
 * The reports folder as the dashboard sees it: every JSON report the CLI wrote there (audit, eval, compress,
 * drift, security, and any later kind), found by the `format` it declares (`switchyard.<kind>`), with the
 * HTML page written beside it, and the runs each report is of (the model directory it names, or for data
 * reports the training data of the run). A report is addressed by an opaque id, looked up among the files
 * found: a request never names a path.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { SwitchyardError } from '../util/errors.ts';
import { RUN_FILES } from '../train/run-dir.ts';

/**
 * One report found in the reports folder.
 *
 * @example
 * const r: FoundReport = {
 *   id: '3f2a…', kind: 'eval', format: 'switchyard.eval', json: 'eval/eval.json', html: 'eval/eval.html',
 *   runs: ['penguins'],
 * };
 */
export interface FoundReport {
  /** Opaque id of the report (a hash of its path inside the folder). */
  id: string;
  /** The declared kind: `format` without `switchyard.` and a trailing `-report` (`drift-report` → `drift`). */
  kind: string;
  format: string;
  /** Path of the JSON file inside the reports folder, `/`-separated. */
  json: string;
  /** Path of the HTML page written beside it (same name, `.html`), when there is one. */
  html?: string;
  /** When the report says it was made (`created` or `createdAt`). */
  created?: string;
  /** Ids of the runs (directories of the runs folder) the report is of. */
  runs: string[];
  /** The registry version a report names (`model: { name, version }`, e.g. a drift report). */
  model?: { name: string; version: number };
}

/** Folders below the reports folder that are searched, and the most report files read. */
const MAX_DEPTH = 4;
const MAX_FILES = 2000;
/** Larger JSON files are not read as reports. */
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * The declared kind of a report's `format` (`switchyard.eval` → `eval`, `switchyard.drift-report` → `drift`),
 * or `undefined` for anything that is not a Switchyard report (a run's own `config.json` included).
 *
 * @param format the JSON file's `format` field
 * @example
 * reportKind('switchyard.drift-report'); // 'drift'
 * reportKind('switchyard.run');          // undefined
 */
export function reportKind(format: unknown): string | undefined {
  if (typeof format !== 'string') return undefined;
  const m = /^switchyard\.([a-z][a-z0-9-]{0,63})$/.exec(format);
  if (!m || NOT_REPORTS.has(m[1])) return undefined;
  return m[1].replace(/-report$/, '');
}

/** Formats Switchyard writes that are parts of a run or model, not reports. */
const NOT_REPORTS = new Set(['run', 'tabular-encoder', 'calibration']);

/** Every `.json` file below `root` (links not followed, run directories skipped), as `/`-separated paths. */
async function jsonFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    if (entries.some((e) => e.isFile() && e.name === RUN_FILES.config) && depth > 0) return; // a run, not reports
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (out.length >= MAX_FILES || e.name.startsWith('.')) continue;
      const abs = join(dir, e.name);
      if (e.isDirectory() && depth < MAX_DEPTH) await walk(abs, depth + 1);
      else if (e.isFile() && e.name.endsWith('.json')) out.push(relative(root, abs).split(sep).join('/'));
    }
  };
  await walk(root, 0);
  return out;
}

/** Parsed reports by absolute path, reused while the file's size and modification time stay the same. */
const parsed = new Map<string, { key: string; doc: Record<string, unknown> | null }>();

/** Whether `abs` is a regular file itself, not a link to one (a link could lead out of the folder). */
const isRegularFile = (abs: string): boolean => lstatSync(abs, { throwIfNoEntry: false })?.isFile() ?? false;

/**
 * The bytes of a report file found in the reports folder, read only while it is a regular file (a file
 * replaced by a link since it was found is refused with `E_UI_REPORT`).
 *
 * @param root the reports folder
 * @param rel the file's path inside it, as {@link findReports} gave it
 * @example
 * const bytes = await readReportFile('reports', r.html ?? r.json);
 */
export async function readReportFile(root: string, rel: string): Promise<Buffer> {
  const abs = join(root, ...rel.split('/'));
  if (!(await lstat(abs).catch(() => undefined))?.isFile()) {
    const what = `${rel} is no longer a regular file in ${root}`;
    throw new SwitchyardError('E_UI_REPORT', what, 'reload the reports list');
  }
  return readFile(abs);
}

async function readReportJson(abs: string): Promise<Record<string, unknown> | null> {
  const st = await lstat(abs);
  if (!st.isFile()) return null;
  const key = `${st.size}:${st.mtimeMs}`;
  const hit = parsed.get(abs);
  if (hit?.key === key) return hit.doc;
  let doc: Record<string, unknown> | null = null;
  if (st.size <= MAX_BYTES) {
    try {
      const v = JSON.parse(await readFile(abs, 'utf8')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) doc = v as Record<string, unknown>;
    } catch {
      doc = null; // not JSON (or being written): not a report now
    }
  }
  parsed.set(abs, { key, doc });
  return doc;
}

/** The model paths a report names (`model` as a path, `model.source`) and the data files (`splits[].file`). */
function namedPaths(doc: Record<string, unknown>): { models: string[]; data: string[] } {
  const model = doc.model as unknown;
  const models = typeof model === 'string' ? [model] : [];
  const source = (model as { source?: unknown } | null)?.source;
  if (typeof source === 'string') models.push(source);
  const splits = Array.isArray(doc.splits) ? (doc.splits as { file?: unknown }[]) : [];
  const data = splits.map((s) => s?.file).filter((f): f is string => typeof f === 'string');
  return { models, data };
}

/** A run of the runs folder with its directory and training data files, resolved. */
interface RunPaths {
  id: string;
  dir: string;
  data: string[];
}

async function runPaths(runsRoot: string, ids: string[]): Promise<RunPaths[]> {
  return Promise.all(ids.map(async (id) => {
    const dir = resolve(runsRoot, id);
    let data: string[] = [];
    try {
      const config = JSON.parse(await readFile(join(dir, RUN_FILES.config), 'utf8'));
      const train = (config.train ?? {}) as Record<string, unknown>;
      data = [train.data].flat().filter((p): p is string => typeof p === 'string').map((p) => resolve(p));
    } catch {
      data = []; // a damaged config names no data
    }
    return { id, dir, data };
  }));
}

/**
 * The opaque id of the report whose JSON file is `json` inside the reports folder: a hash of that path.
 *
 * @param json the JSON file's path inside the reports folder, `/`-separated
 * @example
 * reportId('eval/eval.json'); // 16 hex digits, the same on every start
 */
export const reportId = (json: string): string => createHash('sha256').update(json).digest('hex').slice(0, 16);

/**
 * Every report in `root` (none when the folder does not exist), sorted by path, each with the runs of
 * `runIds` it is of: a report naming a run directory as its model (eval `model.source`, compress `model`),
 * or a data report (audit) of a run's training data. Relative paths in reports are taken from the current
 * directory, as the CLI that wrote them took them.
 *
 * @param root the reports folder
 * @param runsRoot the runs folder
 * @param runIds the runs to link reports to (ids of `listRuns`)
 * @example
 * const reports = await findReports('reports', 'runs', ['penguins']);
 * reports.filter((r) => r.runs.includes('penguins')).map((r) => r.kind); // ['audit', 'eval']
 */
export async function findReports(root: string, runsRoot: string, runIds: string[]): Promise<FoundReport[]> {
  if (!existsSync(root)) return [];
  const runs = await runPaths(runsRoot, runIds);
  const out: FoundReport[] = [];
  for (const json of await jsonFiles(root)) {
    const doc = await readReportJson(join(root, ...json.split('/'))).catch(() => null);
    const kind = reportKind(doc?.format);
    if (!doc || !kind) continue;
    const html = json.replace(/\.json$/, '.html');
    const { models, data } = namedPaths(doc);
    const modelDirs = new Set(models.map((p) => resolve(p)));
    const dataFiles = new Set(data.map((p) => resolve(p)));
    const r: FoundReport = {
      id: reportId(json), kind, format: String(doc.format), json,
      runs: runs.filter((run) => modelDirs.has(run.dir) || run.data.some((d) => dataFiles.has(d))).map((run) => run.id),
    };
    if (isRegularFile(join(root, ...html.split('/')))) r.html = html;
    const created = doc.created ?? doc.createdAt;
    if (typeof created === 'string') r.created = created;
    const m = doc.model as { name?: unknown; version?: unknown } | undefined;
    if (typeof m?.name === 'string' && typeof m.version === 'number') r.model = { name: m.name, version: m.version };
    out.push(r);
  }
  return out;
}

/**
 * The report with `id` among `reports`; throws `E_UI_REPORT` (a 404) for any other id.
 *
 * @param reports what {@link findReports} found
 * @param id the id from a URL
 * @example
 * const r = reportById(await findReports('reports', 'runs', []), req.params.id);
 */
export function reportById(reports: FoundReport[], id: string): FoundReport {
  const r = reports.find((x) => x.id === id);
  if (!r) {
    const what = `no report ${JSON.stringify(id.slice(0, 80))}`;
    throw new SwitchyardError('E_UI_REPORT', what, 'open a report from its run page or /reports');
  }
  return r;
}
