/**
 * The evidence of one registry version, as the model card and the risk profile read it: the version's record
 * (lineage, artefacts, who and why), its aliases and history, every report file linked to it at registration
 * (read back from the registry, each checked against its SHA-256), and what the monitor logged for the model.
 * Every number shown from it is a {@link Fact}: the value read at a JSON pointer of one of these files, so a
 * reader can follow it to its source; nothing is computed or filled in here.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { HistoryEntry, ModelVersion, Registry } from '../registry/registry.ts';
import { sha256Bytes } from '../util/fs.ts';

/** The report formats a linked JSON file is recognised by (its `format` field). */
const FORMATS: Record<string, EvidenceKind> = {
  'switchyard.audit': 'audit',
  'switchyard.eval': 'eval',
  'switchyard.compress': 'compress',
  'switchyard.drift-report': 'drift',
  'switchyard.security': 'security',
};

/**
 * What a linked file is: a report of a known format, or something else (a page, a document) kept as a link.
 *
 * @example
 * const k: EvidenceKind = 'eval';
 */
export type EvidenceKind = 'audit' | 'eval' | 'compress' | 'drift' | 'security' | 'version' | 'other';

/**
 * One evidence file: a report linked to the version (`reports/<link>/<file>`) or the version record itself.
 *
 * @example
 * const f: EvidenceFile = { link: 'eval', path: 'reports/eval/eval.json', sha256: 'ab…', kind: 'eval', data: evalJson };
 */
export interface EvidenceFile {
  /** The link name given at registration (`audit`, `eval`, `compress`, …); `version` for the record. */
  link: string;
  /** Path inside the version (`reports/eval/eval.json`), or `version.json` for the record. */
  path: string;
  sha256: string;
  kind: EvidenceKind;
  /** Parsed JSON (reports of a known format and the record); absent for pages and documents. */
  data?: unknown;
  bytes: Uint8Array;
}

/**
 * Where a number came from: a file of the evidence and an RFC 6901 JSON pointer into it.
 *
 * @example
 * const s: SourceRef = { file: 'reports/eval/eval.json', pointer: '/scores/overall/accuracy/estimate', sha256: 'ab…' };
 */
export interface SourceRef {
  file: string;
  pointer: string;
  sha256: string;
}

/**
 * A value read from the evidence, with its display text and source.
 *
 * @example
 * const f: Fact = { label: 'accuracy', value: 0.97, text: '0.97', source: { file: 'reports/eval/eval.json', pointer: '/scores/overall/accuracy/estimate', sha256: 'ab…' } };
 */
export interface Fact {
  label: string;
  value: unknown;
  text: string;
  source: SourceRef;
}

/**
 * An incident of the model, as the monitor's incident log holds it.
 *
 * @example
 * const i: IncidentSummary = { id: '3', kind: 'rollback', status: 'resolved', title: 'canary error rate', openedAt: '2026-…' };
 */
export interface IncidentSummary {
  id: string;
  kind: string;
  status: string;
  title: string;
  openedAt: string;
}

/**
 * Everything known about one version.
 *
 * @example
 * const ev: ModelEvidence = await collectEvidence(reg, 'penguins@production');
 * ev.files.filter((f) => f.kind === 'eval').length;
 */
export interface ModelEvidence {
  ref: string;
  registry: string;
  version: ModelVersion;
  /** Aliases that point at this version now. */
  aliases: string[];
  history: HistoryEntry[];
  files: EvidenceFile[];
  /** What serving with `--monitor` logged for the model (all versions); zero and empty when nothing. */
  monitor: { predictions: number; feedback: number; incidents: IncidentSummary[] };
}

/**
 * Reads the evidence of `ref` (`NAME@ALIAS`, `NAME@3`, `NAME`) from a registry: the version record, its linked
 * report files (verified bytes, through a private materialization removed afterwards), aliases, history and
 * the monitor's tables when they exist.
 *
 * @param reg an open registry
 * @param ref the version
 * @example
 * const ev = await collectEvidence(await openRegistry('registry'), 'penguins@production');
 */
export async function collectEvidence(reg: Registry, ref: string): Promise<ModelEvidence> {
  const version = await reg.resolve(ref);
  const aliases = Object.entries(await reg.aliases(version.name)).filter(([, n]) => n === version.version).map(([a]) => a);
  const history = await reg.history(version.name);
  const record = Buffer.from(JSON.stringify(version, null, 2) + '\n');
  const files: EvidenceFile[] = [{ link: 'version', path: 'version.json', sha256: sha256Bytes(record), kind: 'version', data: version, bytes: record }];
  const reports = version.artefacts.filter((a) => a.path.startsWith('reports/'));
  if (reports.length) {
    const dir = await reg.materialize(version, { private: true });
    try {
      for (const a of reports) {
        const bytes = await readFile(join(dir, ...a.path.split('/')));
        files.push({ link: a.path.split('/')[1], path: a.path, sha256: a.sha256, bytes, ...classify(bytes, a.path) });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { ref, registry: reg.location, version, aliases, history, files, monitor: await monitorEvidence(reg, version.name) };
}

function classify(bytes: Uint8Array, path: string): { kind: EvidenceKind; data?: unknown } {
  if (!/\.json$/i.test(path)) return { kind: 'other' };
  try {
    const data = JSON.parse(Buffer.from(bytes).toString('utf8')) as { format?: unknown };
    const kind = typeof data?.format === 'string' ? FORMATS[data.format] : undefined;
    return kind ? { kind, data } : { kind: 'other' };
  } catch {
    return { kind: 'other' };
  }
}

/** Counts from the monitor's tables; a registry that never served with `--monitor` has none of them. */
async function monitorEvidence(reg: Registry, model: string): Promise<ModelEvidence['monitor']> {
  const count = async (sql: string): Promise<number> => {
    try {
      const rows = await reg.db.query<{ n: number | string }>(sql, [model]);
      return Number(rows[0]?.n ?? 0);
    } catch {
      return 0; // the table does not exist: nothing was logged
    }
  };
  const predictions = await count('SELECT COUNT(*) AS n FROM monitor_predictions WHERE model = $1');
  const feedback = await count('SELECT COUNT(*) AS n FROM monitor_feedback f JOIN monitor_predictions p ON p.request_id = f.request_id AND p.row_index = f.row_index WHERE p.model = $1');
  let incidents: IncidentSummary[] = [];
  try {
    const rows = await reg.db.query<{ id: number | string; kind: string; status: string; title: string; opened_at: string }>(
      'SELECT id, kind, status, title, opened_at FROM monitor_incidents WHERE model = $1 ORDER BY id',
      [model],
    );
    incidents = rows.map((r) => ({ id: String(r.id), kind: r.kind, status: r.status, title: r.title, openedAt: r.opened_at }));
  } catch {
    incidents = [];
  }
  return { predictions, feedback, incidents };
}

/**
 * The value at an RFC 6901 JSON pointer (`/scores/overall/accuracy/estimate`), or `undefined`.
 *
 * @param doc parsed JSON
 * @param pointer `''` for the whole document
 * @example
 * jsonPointer({ a: [{ b: 1 }] }, '/a/0/b'); // 1
 */
export function jsonPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/**
 * A pointer from path segments, escaped per RFC 6901.
 *
 * @example
 * pointerOf('scores', 'overall', 'f1:a/b', 'estimate'); // '/scores/overall/f1:a~1b/estimate'
 */
export function pointerOf(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/**
 * A relative link to a fact's field: the file (as copied beside the card under `evidence/`) and the pointer as
 * its fragment (RFC 6901, section 6).
 *
 * @example
 * factHref(fact); // 'evidence/reports/eval/eval.json#/scores/overall/accuracy/estimate'
 */
export function factHref(f: Fact): string {
  const file = `${EVIDENCE_DIR}/${f.source.file}`;
  return f.source.pointer ? `${file}#${encodeURI(f.source.pointer).replace(/#/g, '%23')}` : file;
}

/**
 * The folder beside a card or profile that holds copies of its evidence files.
 *
 * @example
 * join(outDir, EVIDENCE_DIR, 'reports/eval/eval.json');
 */
export const EVIDENCE_DIR = 'evidence';

/**
 * Number display: integers grouped, others with 4 significant digits.
 *
 * @example
 * formatValue(0.971428); // '0.9714'
 */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The first evidence file of a kind (the eval report, the audit, …), or `undefined`.
 *
 * @example
 * const evalFile = fileOf(ev, 'eval');
 */
export function fileOf(ev: ModelEvidence, kind: EvidenceKind): EvidenceFile | undefined {
  return ev.files.find((f) => f.kind === kind);
}

/**
 * A fact read from `file` at `pointer`, or `undefined` when the field is absent or null (never a default).
 *
 * @param file an evidence file with JSON data
 * @param pointer where the value is
 * @param label what it is, in words
 * @param format display text of the value (default {@link formatValue})
 * @example
 * factAt(fileOf(ev, 'eval')!, '/scores/overall/accuracy/estimate', 'accuracy');
 */
export function factAt(file: EvidenceFile | undefined, pointer: string, label: string, format: (v: unknown) => string = formatValue): Fact | undefined {
  if (!file || file.data === undefined) return undefined;
  const value = jsonPointer(file.data, pointer);
  if (value === undefined || value === null || (typeof value === 'number' && !Number.isFinite(value))) return undefined;
  return { label, value, text: format(value), source: { file: file.path, pointer, sha256: file.sha256 } };
}
