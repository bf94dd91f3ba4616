/**
 * The dashboard's report pages: the list of reports (all of them, or a run's), a report opened inside the
 * dashboard (the page the CLI wrote, framed and sandboxed), and how report files are sent: with a strict
 * Content-Security-Policy, so a report can run no script and load nothing.
 *
 * @module
 */
import type { FastifyReply } from 'fastify';
import { escapeHtml, REPORT_CSP } from '../report/html.ts';
import { uiHref, uiPage, table } from './pages.ts';
import type { FoundReport } from './reports.ts';

/**
 * The policy a served report file gets: the report's own (no scripts, no requests), framed only by the
 * dashboard, and sandboxed (a unique origin, no forms, no top navigation).
 *
 * @example
 * reply.header('content-security-policy', SERVED_REPORT_CSP);
 */
export const SERVED_REPORT_CSP = `${REPORT_CSP}; frame-ancestors 'self'; sandbox`;

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8', json: 'application/json; charset=utf-8', md: 'text/plain; charset=utf-8',
  txt: 'text/plain; charset=utf-8', csv: 'text/plain; charset=utf-8', svg: 'image/svg+xml',
};

/**
 * Sends a report file's bytes under {@link SERVED_REPORT_CSP}: HTML, JSON and text as themselves, anything
 * else as a download.
 *
 * @param reply the Fastify reply
 * @param name the file's name (its extension picks the type)
 * @param bytes the content
 * @example
 * return sendReportFile(reply, 'eval.html', await readFile('reports/eval/eval.html'));
 */
export function sendReportFile(reply: FastifyReply, name: string, bytes: Uint8Array): FastifyReply {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';
  reply.header('content-security-policy', SERVED_REPORT_CSP).header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  if (!TYPES[ext]) reply.header('content-disposition', 'attachment');
  return reply.type(TYPES[ext] ?? 'application/octet-stream').send(Buffer.from(bytes));
}

/**
 * The path of a report's page inside the dashboard.
 *
 * @param r a found report
 * @example
 * reportPath(r); // '/reports/3f2a…'
 */
export const reportPath = (r: FoundReport): string => `/reports/${r.id}`;

/**
 * A table of reports: kind, file, when made, the runs it is of, and a link that opens it.
 *
 * @param reports the reports to list
 * @param token the access token, if any
 * @example
 * const html = reportsTable(found.filter((r) => r.runs.includes('penguins')));
 */
export function reportsTable(reports: FoundReport[], token?: string): string {
  if (!reports.length) return '<p class="no-reports">No reports.</p>';
  const runLink = (id: string) => `<a href="${uiHref(`/runs/${encodeURIComponent(id)}`, token)}">${escapeHtml(id)}</a>`;
  const rows = reports.map((r) => [
    `<a href="${uiHref(reportPath(r), token)}">${escapeHtml(r.kind)}</a>`, escapeHtml(r.html ?? r.json),
    escapeHtml(r.created ?? ''), r.runs.map(runLink).join(', ')
      + (r.model ? ` ${escapeHtml(`${r.model.name}@${r.model.version}`)}` : ''),
  ]);
  return table('reports', ['report', 'file', 'created', 'of'], rows);
}

/**
 * The reports page: every report in the reports folder.
 *
 * @param reports what `findReports` found
 * @param folder the reports folder, shown under the title
 * @param token the access token, if any
 * @example
 * const html = reportsPage(await findReports('reports', 'runs', ids), 'reports');
 */
export function reportsPage(reports: FoundReport[], folder: string | undefined, token?: string): string {
  if (folder === undefined) {
    return uiPage('Reports', '<p>No reports folder: start the dashboard with --reports DIR.</p>', token);
  }
  return uiPage(`Reports (${reports.length})`, `<p>${escapeHtml(folder)}</p>${reportsTable(reports, token)}`, token);
}

/**
 * A report opened inside the dashboard: a title line, links to its files, and the report itself in a
 * sandboxed frame.
 *
 * @param title the page title
 * @param frameSrc the dashboard path of the file shown in the frame
 * @param files links to the report's files, `[label, path]`
 * @param token the access token, if any
 * @example
 * const html = reportViewPage('eval report', '/reports/3f2a/file', [['eval.json', '/reports/3f2a/file?as=json']]);
 */
export function reportViewPage(title: string, frameSrc: string, files: [string, string][], token?: string): string {
  const links = files.map(([label, path]) => `<a href="${uiHref(path, token)}">${escapeHtml(label)}</a>`).join(' · ');
  const src = uiHref(frameSrc, token);
  const frame = `<iframe id="report" title="${escapeHtml(title)}" sandbox="" src="${src}"></iframe>`;
  return uiPage(title, `<p class="report-files">${links}</p>${frame}`, token);
}
