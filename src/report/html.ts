/**
 * The one report renderer: a {@link ReportDoc} (title, meta, summary, sections of blocks) becomes a single
 * self-contained HTML page — inline CSS and inline SVG, no scripts, no fonts or images from anywhere (a
 * Content-Security-Policy forbids every network request), readable in light and dark mode and on paper.
 * Every piece of text is escaped; chart blocks take SVG made by the chart functions of charts.ts.
 */
import type { Finding, Severity } from '../audit/types.ts';
import { escapeXml, formatNumber, truncate } from './svg.ts';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.ts';

/**
 * A table or key-value cell: numbers are formatted and right-aligned, `null`/`undefined` show as a dash.
 *
 * @example
 * const row: Cell[] = ['age', 0.1234, 1000, null];
 */
export type Cell = string | number | boolean | null | undefined | CellLink;

/**
 * A cell that links to a file next to the page (a relative path; anything with a scheme is shown as text).
 *
 * @example
 * const c: CellLink = { text: '0.9714', href: 'evidence/eval/eval.json' };
 */
export interface CellLink {
  text: string;
  href: string;
}

/**
 * The outcome of one check in a report's opening summary: `pass`, `warn` (look at it), `fail` (a gate or
 * threshold broken), `skipped` (could not run: its input was not given) or `missing` (no evidence).
 *
 * @example
 * const s: CheckStatus = 'pass';
 */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skipped' | 'missing';

/**
 * One line of the pass/fail summary every report opens with.
 *
 * @example
 * const c: CheckRow = { check: 'Train/test leakage', status: 'pass', detail: 'no test row copies a training row' };
 */
export interface CheckRow {
  check: string;
  status: CheckStatus;
  detail: string;
  /** Anchor id of the section with the details (without `sec-`). */
  section?: string;
}

/**
 * One piece of a section.
 *
 * @example
 * const b: Block = { kind: 'table', columns: ['column', 'missing'], rows: [['age', 3]], caption: 'missing values' };
 */
export type Block =
  | { kind: 'text'; text: string }
  | { kind: 'table'; columns: string[]; rows: Cell[][]; caption?: string; maxRows?: number }
  | { kind: 'chart'; svg: string; caption?: string }
  | { kind: 'findings'; findings: Finding[] }
  | { kind: 'kv'; pairs: [string, Cell][] }
  | { kind: 'checks'; checks: CheckRow[] };

/**
 * One section: a heading in the table of contents and its blocks.
 *
 * @example
 * const s: ReportSection = { id: 'overview', title: 'Overview', blocks: [{ kind: 'text', text: 'All clear.' }] };
 */
export interface ReportSection {
  /** Anchor id (made URL-safe and unique by the renderer). */
  id: string;
  title: string;
  blocks: Block[];
}

/**
 * A whole report page.
 *
 * @example
 * const doc: ReportDoc = { title: 'Drift report', meta: [['window', '24h']], sections: [] };
 */
export interface ReportDoc {
  title: string;
  subtitle?: string;
  /** Shown in the header: data files, dates, options. */
  meta?: [string, Cell][];
  /** The pass/fail summary of every check, shown first (see {@link CheckRow}). */
  checks?: CheckRow[];
  /** Blocks shown above the table of contents, after the checks. */
  summary?: Block[];
  sections: ReportSection[];
}

const CSS = `
:root{--bg:#fff;--fg:#1b1f24;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;--link:#0969da;--info:#0969da;--warn:#9a6700;--error:#cf222e;--ok:#1a7f37}
@media (prefers-color-scheme: dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--panel:#151b23;--link:#4493f8;--info:#4493f8;--warn:#d29922;--error:#f85149;--ok:#3fb950}
svg.sy-chart .sy-bg{fill:var(--panel)} svg.sy-chart text:not(.sy-keep){fill:var(--fg)} svg.sy-chart .sy-grid{stroke:#30363d}
svg.sy-chart .sy-axis,svg.sy-chart .sy-ref{stroke:var(--muted)} svg.sy-chart .sy-muted{fill:var(--muted)}}
*{box-sizing:border-box} html{background:var(--bg);color:var(--fg)}
body{margin:0 auto;max-width:1100px;padding:24px 28px 48px;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;overflow-wrap:anywhere}
h1{font-size:1.8em;margin:0 0 4px} h2{font-size:1.35em;margin:2em 0 .6em;padding-bottom:.25em;border-bottom:1px solid var(--line)}
.subtitle{color:var(--muted);margin:0 0 12px} a{color:var(--link)} code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{white-space:pre-wrap;background:var(--panel);padding:8px;border-radius:6px;max-height:24em;overflow:auto}
header{border-bottom:1px solid var(--line);padding-bottom:12px;margin-bottom:16px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0} dl.kv dt{color:var(--muted)} dl.kv dd{margin:0;white-space:pre-line}
nav.toc{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 16px;margin:16px 0}
nav.toc ol{margin:4px 0;padding-left:22px} nav.toc h2{border:0;margin:4px 0;font-size:1.05em}
.table-wrap{overflow-x:auto;margin:8px 0 16px} table{border-collapse:collapse;font-size:14px;min-width:40%}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word} th{white-space:nowrap} td{max-width:40em} th{background:var(--panel)}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap} caption{caption-side:top;text-align:left;color:var(--muted);padding:4px 0}
figure{display:inline-block;vertical-align:top;margin:12px 20px 20px 0;max-width:100%;overflow-x:auto} figure svg{max-width:100%;height:auto} figcaption{color:var(--muted);font-size:14px;width:0;min-width:100%}
.note{color:var(--muted);font-size:14px}
.finding{border:1px solid var(--line);border-left:4px solid var(--info);border-radius:6px;padding:8px 12px;margin:8px 0}
.finding.sev-warn{border-left-color:var(--warn)} .finding.sev-error{border-left-color:var(--error)}
.finding .head{display:flex;flex-wrap:wrap;gap:6px 10px;align-items:baseline} .finding .msg{margin:4px 0}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff;background:var(--info)}
.badge.sev-warn{background:var(--warn)} .badge.sev-error{background:var(--error)} .badge.sev-ok{background:var(--ok)} .badge.sev-muted{background:var(--muted)}
section.checks{border:1px solid var(--line);border-radius:6px;padding:4px 16px 8px;margin:16px 0} section.checks h2{border:0;margin:8px 0 4px;font-size:1.15em}
.chip{color:var(--muted);font-size:13px} details.more summary{cursor:pointer;color:var(--muted);margin:8px 0} .evidence{font-size:13px;margin:4px 0} .evidence code{background:var(--panel);padding:0 4px;border-radius:4px}
footer{margin-top:40px;color:var(--muted);font-size:13px;border-top:1px solid var(--line);padding-top:8px}
@media print{html{background:#fff;color:#000} body{max-width:none;padding:0} nav.toc{break-after:page}
.finding,figure,tr,dl.kv{break-inside:avoid} h2{break-after:avoid} .badge{print-color-adjust:exact;-webkit-print-color-adjust:exact}
a{color:inherit;text-decoration:none} pre{max-height:none}}
`;

/**
 * The Content-Security-Policy of a report page: its own inline styles and data images, nothing else (no
 * scripts, no requests). The dashboard sends it as a header with every report it serves.
 *
 * @example
 * reply.header('content-security-policy', REPORT_CSP);
 */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; base-uri 'none'; form-action 'none'";

/**
 * Escapes text for HTML element content and quoted attributes (`& < > " '`).
 *
 * @example
 * escapeHtml('<img src=x onerror=alert(1)>'); // '&lt;img src=x onerror=alert(1)&gt;'
 */
export function escapeHtml(s: unknown): string {
  return escapeXml(s);
}

/**
 * A table cell or value as display text: integers grouped, fractions with 4 significant digits, `null` as a dash.
 *
 * @example
 * formatCell(12345); // '12,345'
 * formatCell(0.123456); // '0.1235'
 */
export function formatCell(v: Cell): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return v.text;
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : formatNumber(v);
  return String(v);
}

/** A relative link only: no scheme (`javascript:`, `https:`), no protocol-relative `//host`. */
const SAFE_HREF = /^(?![a-z][a-z0-9+.-]*:|\/\/)[^\s<>"']+$/i;

function cellHtml(v: Cell, tag: 'td' | 'dd'): string {
  if (typeof v === 'object' && v !== null) {
    const text = escapeHtml(v.text);
    return `<${tag}>${SAFE_HREF.test(v.href) ? `<a href="${escapeHtml(v.href)}">${text}</a>` : text}</${tag}>`;
  }
  const cls = typeof v === 'number' && tag === 'td' ? ' class="num"' : '';
  return `<${tag}${cls}>${escapeHtml(formatCell(v))}</${tag}>`;
}

function textHtml(text: string): string {
  return text
    .split(/\n\s*\n/)
    .filter((p) => p.trim())
    .map((p) => `<p>${escapeHtml(p.trim()).replace(/\n/g, '<br>')}</p>`)
    .join('\n');
}

function tableHtml(b: Extract<Block, { kind: 'table' }>): string {
  const max = b.maxRows ?? 500;
  const rows = b.rows.slice(0, max);
  const out = ['<div class="table-wrap"><table>'];
  if (b.caption) out.push(`<caption>${escapeHtml(b.caption)}</caption>`);
  out.push(`<thead><tr>${b.columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>`);
  for (const r of rows) out.push(`<tr>${b.columns.map((_, j) => cellHtml(r[j], 'td')).join('')}</tr>`);
  out.push('</tbody></table></div>');
  if (b.rows.length > max) out.push(`<p class="note">${(b.rows.length - max).toLocaleString('en-US')} more rows not shown (all are in the JSON file).</p>`);
  return out.join('\n');
}

const BAD_ELEMENTS = new Set(['script', 'foreignobject', 'iframe', 'image', 'use', 'a', 'style', 'object', 'embed', 'animate', 'set']);

/** True when an SVG string's markup (not its escaped text) holds scripts, event handlers or links out. */
function unsafeSvg(svg: string): boolean {
  for (const tag of svg.matchAll(/<\s*([a-zA-Z][\w:-]*)([^>]*)>/g)) {
    if (BAD_ELEMENTS.has(tag[1].toLowerCase())) return true;
    for (const attr of tag[2].matchAll(/([^\s=/]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/g)) {
      const name = attr[1].toLowerCase();
      if (name.startsWith('on') || name.endsWith('href') || /url\(|javascript:/i.test(attr[2])) return true;
    }
  }
  return false;
}

function chartHtml(b: Extract<Block, { kind: 'chart' }>): string {
  const svg = b.svg.trim();
  if (!svg.startsWith('<svg') || unsafeSvg(svg)) throw new Error('renderReport: a chart block must hold an SVG made by src/report/charts.ts (no scripts, handlers, links or external references)');
  return `<figure>${svg}${b.caption ? `<figcaption>${escapeHtml(b.caption)}</figcaption>` : ''}</figure>`;
}

function kvHtml(pairs: [string, Cell][]): string {
  return `<dl class="kv">${pairs.map(([k, v]) => `<dt>${escapeHtml(k)}</dt>${cellHtml(v, 'dd')}`).join('')}</dl>`;
}

const SEV_RANK: Record<Severity, number> = { error: 2, warn: 1, info: 0 };

/**
 * A short display form of any evidence or detail value (JSON, truncated).
 *
 * @example
 * previewValue({ a: [1, 2] }); // '{"a":[1,2]}'
 */
export function previewValue(v: unknown, max = 160): string {
  if (typeof v === 'string') return truncate(v, max);
  let s: string;
  try {
    s = JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : typeof x === 'number' && !Number.isFinite(x) ? String(x) : x)) ?? String(v);
  } catch {
    s = String(v);
  }
  return truncate(s, max);
}

function evidenceHtml(f: Finding): string {
  const out: string[] = [];
  const ev = f.evidence ?? {};
  if (ev.rows?.length) {
    const shown = ev.rows.slice(0, 20);
    out.push(`<div class="evidence">rows: ${shown.map((r) => `<code>${escapeHtml(r)}</code>`).join(' ')}${ev.rows.length > shown.length ? ` <span class="chip">and ${ev.rows.length - shown.length} more</span>` : ''}</div>`);
  }
  if (ev.values?.length) {
    const shown = ev.values.slice(0, 10);
    out.push(`<div class="evidence">values: ${shown.map((v) => `<code>${escapeHtml(previewValue(v, 80))}</code>`).join(' ')}${ev.values.length > shown.length ? ` <span class="chip">and ${ev.values.length - shown.length} more</span>` : ''}</div>`);
  }
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'rows' || k === 'values' || v === undefined) continue;
    out.push(`<div class="evidence">${escapeHtml(k)}: <code>${escapeHtml(previewValue(v))}</code></div>`);
  }
  if (f.details && Object.keys(f.details).length) {
    let json = previewValue(f.details, 1e9);
    try {
      json = JSON.stringify(f.details, null, 1);
    } catch {
      /* keep the preview */
    }
    out.push(`<details><summary class="chip">details</summary><pre>${escapeHtml(truncate(json, 4000))}</pre></details>`);
  }
  return out.join('\n');
}

/**
 * The HTML of a findings list: most severe first, each with its severity badge, check id, column and split,
 * score, message and evidence. Used by {@link renderReport} for `findings` blocks.
 *
 * @example
 * const html = findingsHtml([{ check: 'integrity.missing', severity: 'warn', score: 0.3, message: '30% missing', column: 'age', evidence: { rows: [1, 4] } }]);
 */
export function findingsHtml(findings: readonly Finding[]): string {
  if (!findings.length) return '<p class="note">No findings.</p>';
  const sorted = [...findings].sort((a, b) => SEV_RANK[b.severity] - SEV_RANK[a.severity] || (b.score ?? 0) - (a.score ?? 0));
  const info = sorted.filter((f) => f.severity !== 'warn' && f.severity !== 'error');
  // Many informational findings next to real problems are folded away (native <details>, no script).
  if (info.length > 3 && info.length < sorted.length) {
    return `${findingsHtml(sorted.filter((f) => !info.includes(f)))}\n<details class="more"><summary>${info.length} informational findings</summary>\n${renderFindings(info)}\n</details>`;
  }
  return renderFindings(sorted);
}

function renderFindings(sorted: readonly Finding[]): string {
  return sorted
    .map((f) => {
      const sev = SEV_RANK[f.severity] === undefined ? 'info' : f.severity;
      const chips = [
        f.column !== undefined ? `column <b>${escapeHtml(f.column)}</b>` : '',
        f.split ? `split ${escapeHtml(f.split)}` : '',
        Number.isFinite(f.score) ? `score ${escapeHtml(formatNumber(f.score))}` : '',
      ].filter(Boolean);
      return [
        `<article class="finding sev-${sev}">`,
        `<div class="head"><span class="badge sev-${sev}">${escapeHtml(sev)}</span><code>${escapeHtml(f.check)}</code>${chips.map((c) => `<span class="chip">${c}</span>`).join('')}</div>`,
        `<p class="msg">${escapeHtml(f.message)}</p>`,
        evidenceHtml(f),
        '</article>',
      ].join('\n');
    })
    .join('\n');
}

const STATUS_BADGE: Record<CheckStatus, string> = { pass: 'ok', warn: 'warn', fail: 'error', skipped: 'muted', missing: 'muted' };

/**
 * The pass/fail summary of checks: a count line and one row per check with its status badge and detail.
 *
 * @example
 * checksHtml([{ check: 'Integrity', status: 'pass', detail: 'no missing values' }]);
 */
export function checksHtml(checks: readonly CheckRow[]): string {
  if (!checks.length) return '<p class="note">No checks ran.</p>';
  const n = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  const tally = (['pass', 'warn', 'fail', 'skipped', 'missing'] as const).filter((s) => n(s)).map((s) => `${n(s)} ${s === 'pass' ? 'passed' : s === 'fail' ? 'failed' : s === 'warn' ? 'to look at' : s}`);
  const rows = checks.map((c) => {
    const name = c.section ? `<a href="#sec-${escapeHtml(c.section)}">${escapeHtml(c.check)}</a>` : escapeHtml(c.check);
    return `<tr><td><span class="badge sev-${STATUS_BADGE[c.status]}">${escapeHtml(c.status)}</span></td><td>${name}</td><td>${escapeHtml(c.detail)}</td></tr>`;
  });
  return [
    `<p><b>${escapeHtml(tally.join(', '))}</b> (of ${checks.length} checks)</p>`,
    '<div class="table-wrap"><table class="checks"><thead><tr><th scope="col">status</th><th scope="col">check</th><th scope="col">result</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table></div>',
  ].join('\n');
}

function blockHtml(b: Block): string {
  switch (b.kind) {
    case 'text':
      return textHtml(b.text);
    case 'table':
      return tableHtml(b);
    case 'chart':
      return chartHtml(b);
    case 'findings':
      return findingsHtml(b.findings);
    case 'kv':
      return kvHtml(b.pairs);
    case 'checks':
      return checksHtml(b.checks);
  }
}

function anchorIds(sections: readonly ReportSection[]): string[] {
  const seen = new Set<string>();
  return sections.map((s, i) => {
    let id = 'sec-' + (s.id.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || String(i + 1));
    while (seen.has(id)) id += '-' + (i + 1);
    seen.add(id);
    return id;
  });
}

/**
 * Renders a report as one self-contained HTML page: header (title, subtitle, meta), summary, table of
 * contents, then each section with its blocks. No scripts and no external requests (enforced by a CSP).
 *
 * @example
 * const html = renderReport({
 *   title: 'Audit of train.csv', meta: [['rows', 1000]],
 *   sections: [{ id: 'overview', title: 'Overview', blocks: [{ kind: 'text', text: 'All clear.' }] }],
 * });
 */
export function renderReport(doc: ReportDoc): string {
  const ids = anchorIds(doc.sections);
  const out = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<meta name="generator" content="switchyard">',
    `<title>${escapeHtml(doc.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${escapeHtml(doc.title)}</h1>`,
  ];
  if (doc.subtitle) out.push(`<p class="subtitle">${escapeHtml(doc.subtitle)}</p>`);
  if (doc.meta?.length) out.push(kvHtml(doc.meta));
  out.push('</header>', '<main>');
  if (doc.checks) out.push('<section id="checks" class="checks" aria-label="checks"><h2>Checks</h2>', checksHtml(doc.checks), '</section>');
  if (doc.summary?.length) out.push('<section id="summary" aria-label="summary">', ...doc.summary.map(blockHtml), '</section>');
  if (doc.sections.length) {
    out.push('<nav class="toc" aria-label="contents"><h2>Contents</h2><ol>');
    doc.sections.forEach((s, i) => out.push(`<li><a href="#${ids[i]}">${escapeHtml(s.title)}</a></li>`));
    out.push('</ol></nav>');
  }
  doc.sections.forEach((s, i) => {
    out.push(`<section id="${ids[i]}">`, `<h2>${escapeHtml(s.title)}</h2>`);
    out.push(...(s.blocks.length ? s.blocks.map(blockHtml) : ['<p class="note">Nothing to report.</p>']));
    out.push('</section>');
  });
  out.push('</main>', '<footer>Generated by Switchyard. This page is self-contained: no scripts, no external resources.</footer>', '</body>', '</html>', '');
  return out.join('\n');
}

/**
 * Writes a report as `<name>.json` (the data) and `<name>.html` (the page) into `dir`, each atomically, and
 * returns their paths: the one way every report (audit, eval, drift) lands on disk.
 *
 * @example
 * await writeReportFiles('reports/audit', 'audit', result, renderAuditHtml(result)); // { json: 'reports/audit/audit.json', html: '…/audit.html' }
 */
export async function writeReportFiles(dir: string, name: string, data: unknown, html: string): Promise<{ json: string; html: string }> {
  const files = { json: join(dir, `${name}.json`), html: join(dir, `${name}.html`) };
  await writeJsonAtomic(files.json, data);
  await writeFileAtomic(files.html, html);
  return files;
}

