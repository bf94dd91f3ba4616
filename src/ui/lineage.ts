/**
 * A registry version's page: its lineage (parent run, data fingerprints, code version), the reports linked to
 * it at registration, its artefacts, the aliases pointing at it and its history — all read through the
 * registry's own API (`collectEvidence`, the reader of `switchyard card` and `governance`).
 *
 * @module
 */
import { basename, dirname, resolve } from 'node:path';
import type { HistoryEntry } from '../registry/registry.ts';
import type { EvidenceFile, ModelEvidence } from '../report/evidence.ts';
import { escapeHtml } from '../report/html.ts';
import { SwitchyardError } from '../util/errors.ts';
import { uiHref, uiPage, table, versionPath } from './pages.ts';
import { reportsTable } from './report-pages.ts';
import { reportKind, type FoundReport } from './reports.ts';

/**
 * The registry reference of a version's URL parameters; throws `E_UI_VERSION` (a 404) for a version that is
 * not a whole number (the name is checked by the registry).
 *
 * @param name the `:name` parameter
 * @param version the `:version` parameter
 * @example
 * versionRef('penguins', '3'); // 'penguins@3'
 */
export function versionRef(name: string, version: string): string {
  if (!/^[1-9][0-9]{0,8}$/.test(version)) {
    const what = `no version ${JSON.stringify(version.slice(0, 40))}`;
    throw new SwitchyardError('E_UI_VERSION', what, 'pick one on /registry');
  }
  return `${name}@${version}`;
}

/**
 * A linked report file of the evidence; throws `E_UI_REPORT` (a 404) for any path the version does not link.
 *
 * @param ev the version's evidence
 * @param file the `file` query parameter
 * @example
 * linkedFile(ev, 'reports/eval/eval.html').bytes;
 */
export function linkedFile(ev: ModelEvidence, file: unknown): EvidenceFile {
  const f = ev.files.find((x) => x.link !== 'version' && x.path === file);
  if (!f) {
    const { name, version } = ev.version;
    const what = `${name}@${version} links no report ${JSON.stringify(String(file).slice(0, 80))}`;
    throw new SwitchyardError('E_UI_REPORT', what, 'open a report from the version page');
  }
  return f;
}

/** The declared kind of a linked JSON report (`eval`, `drift`, …), else the link name it was registered under. */
function declaredKind(f: EvidenceFile): string {
  if (!f.path.endsWith('.json')) return f.link;
  try {
    return reportKind(JSON.parse(Buffer.from(f.bytes).toString('utf8')).format) ?? f.link;
  } catch {
    return f.link;
  }
}

/** The id of the run a version was registered from, when it is a run of the dashboard's runs folder. */
function parentRunId(
  source: Record<string, unknown>, runsRoot: string, isRun: (id: string) => boolean,
): string | undefined {
  const path = typeof source.path === 'string' ? source.path : '';
  const id = basename(path);
  return path && dirname(resolve(path)) === resolve(runsRoot) && isRun(id) ? id : undefined;
}

function parentRun(source: Record<string, unknown>, runId: string | undefined, token?: string): string {
  const runPath = runId ? `/runs/${encodeURIComponent(runId)}` : '';
  const where = runId ? `<a href="${uiHref(runPath, token)}">${escapeHtml(runId)}</a> ` : '';
  return `${where}<code>${escapeHtml(source.path ?? '')}</code> (${escapeHtml(source.type ?? '')}`
    + `${source.runKind ? `, ${escapeHtml(source.runKind)}` : ''})`;
}

const cells = (values: unknown[]): string[] => values.map((v) => escapeHtml(v ?? ''));

/** The history entries that concern version `n`: its registration and archive, alias moves to or from it. */
const concerns = (h: HistoryEntry, n: number): boolean => h.version === n || h.to === n || h.from === n;

/**
 * The version page.
 *
 * @param ev the version's evidence (`collectEvidence(reg, 'NAME@VERSION')`)
 * @param runsRoot the dashboard's runs folder (the parent run is linked when it is there)
 * @param isRun whether an id names a run of the runs folder (asked of the parent run only: a folder may hold
 *   thousands)
 * @param found the reports of the reports folder: those naming this version (drift) or of its run are listed
 * @param token the access token, if any
 * @example
 * const html = versionPage(await collectEvidence(reg, 'penguins@3'), 'runs', (id) => id === 'penguins', []);
 */
export function versionPage(
  ev: ModelEvidence, runsRoot: string, isRun: (id: string) => boolean, found: FoundReport[], token?: string,
): string {
  const v = ev.version;
  const lin = v.lineage;
  const source = (lin.source ?? {}) as Record<string, unknown>;
  const runId = parentRunId(source, runsRoot, isRun);
  const about = found.filter((r) => (r.model?.name === v.name && r.model.version === v.version)
    || (runId !== undefined && r.runs.includes(runId)));
  const code = (lin.code ?? {}) as Record<string, unknown>;
  const summary = table('version-summary', ['field', 'value'], [
    ['status', escapeHtml(v.status)], ['kind', escapeHtml(v.kind)],
    ['created', escapeHtml(`${v.createdAt} by ${v.createdBy}`)],
    ['reason', escapeHtml(v.reason ?? '')], ['aliases here', escapeHtml(ev.aliases.join(', ') || 'none')],
    ['parent run', parentRun(source, runId, token)],
    ['code', escapeHtml(`${code.package ?? ''} ${code.version ?? ''} ${code.commit ?? '(no commit)'}`)],
  ]);
  const data = ((lin.data ?? []) as Record<string, unknown>[]).map((d) => d.missing
    ? cells([d.path, `missing (${d.error ?? ''})`, '', ''])
    : cells([d.path, d.sha256, d.bytes, d.files]));
  const base = versionPath(v.name, v.version);
  const reports = ev.files.filter((f) => f.link !== 'version').map((f) => [
    `<a href="${uiHref(`${base}/reports?file=${encodeURIComponent(f.path)}`, token)}">`
      + `${escapeHtml(declaredKind(f))}</a>`,
    ...cells([f.link, f.path, f.sha256]),
  ]);
  const moved = (h: HistoryEntry) => h.version ?? (h.from !== undefined ? `${h.from} → ${h.to}` : h.to ?? '');
  const history = ev.history.filter((h) => concerns(h, v.version))
    .map((h) => cells([h.at, h.by, h.action, h.alias, moved(h), h.reason]));
  const anchor = uiHref(`/registry#model-${encodeURIComponent(v.name)}`, token);
  const all = `<a href="${anchor}">all versions of ${escapeHtml(v.name)}</a>`;
  const dataTable = data.length
    ? table('data', ['path', 'sha256', 'bytes', 'files'], data) : '<p>No data recorded.</p>';
  const linked = reports.length
    ? table('linked-reports', ['report', 'link', 'file', 'sha256'], reports) : '<p>No reports linked.</p>';
  const artefacts = v.artefacts.map((a) => cells([a.path, a.sha256, a.bytes]));
  const body = `<p>${all}</p>
${summary}
<h2>Data fingerprints</h2>${dataTable}
<h2>Linked reports</h2>${linked}
<h2>Reports in the reports folder</h2>${reportsTable(about, token)}
<h2>History</h2>${table('history', ['at', 'by', 'action', 'alias', 'version', 'reason'], history)}
<h2>Artefacts</h2>${table('artefacts', ['path', 'sha256', 'bytes'], artefacts)}
<h2>Metrics</h2><pre id="metrics" tabindex="0">${escapeHtml(JSON.stringify(v.metrics ?? {}, null, 2))}</pre>`;
  return uiPage(`${v.name} v${v.version}`, body, token);
}
