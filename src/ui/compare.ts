/**
 * The compare page (`/compare?runs=a,b` or `?run=a&run=b`, what the runs table's checkboxes submit): the curves
 * of two or more runs on one chart per metric, the config fields that differ between them, and their final
 * metrics. The tables are the page's content without JavaScript.
 *
 * @module
 */
import { escapeHtml } from '../report/html.ts';
import { SwitchyardError } from '../util/errors.ts';
import { chartSpecs, mergeChartSpecs } from './charts.ts';
import { uiPage } from './pages.ts';
import { chartSpecsBlock, showNumber } from './run-page.ts';

/**
 * One run on the compare page.
 *
 * @example
 * const r: CompareRun = { id: 'a', config: { lr: 0.1 }, records: [{ epoch: 1, trainLoss: 0.5 }] };
 */
export interface CompareRun {
  id: string;
  config: unknown;
  records: Record<string, unknown>[];
}

/** Longest config value shown in a cell (a tokenizer's vocabulary would swamp the table). */
const MAX_CELL = 120;

/**
 * The run ids of a compare request: `runs` (comma-separated) and any number of `run` fields, in order, without
 * repeats. Throws `E_USAGE` for fewer than two or more than `max`.
 *
 * @param query the request's parsed query
 * @param max the most runs one page compares (`--compare-max`)
 * @example
 * compareIds({ runs: 'a,b' }, 8);          // ['a', 'b']
 * compareIds({ run: ['a', 'b', 'a'] }, 8); // ['a', 'b']
 */
export function compareIds(query: Record<string, unknown>, max: number): string[] {
  const list = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
  const ids = [...list(query.runs).flatMap((s) => s.split(',')), ...list(query.run)].map((s) => s.trim());
  const unique = [...new Set(ids.filter(Boolean))];
  if (unique.length < 2) {
    throw new SwitchyardError('E_USAGE', `compare needs two or more runs, got ${unique.length}`,
      'tick two or more runs in the runs table, or open /compare?runs=a,b');
  }
  if (unique.length > max) {
    throw new SwitchyardError('E_USAGE', `compare shows at most ${max} runs, got ${unique.length}`,
      `tick ${max} or fewer runs, or start the dashboard with a higher --compare-max (at most 100)`);
  }
  return unique;
}

/** `config` flattened to dotted paths; arrays and scalars are leaves (as JSON). */
function flatten(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(value) ?? 'undefined');
  }
  return out;
}

/**
 * The config fields whose values are not the same in every run (a field a run lacks counts as different).
 *
 * @param configs one parsed `config.json` per run
 * @example
 * configDifferences([{ lr: 0.1, seed: 1 }, { lr: 0.2, seed: 1 }]); // [['lr', ['0.1', '0.2']]]
 */
export function configDifferences(configs: unknown[]): [field: string, values: string[]][] {
  const flat = configs.map((c) => flatten(c));
  const fields = [...new Set(flat.flatMap((f) => [...f.keys()]))].sort();
  return fields.flatMap((field): [string, string[]][] => {
    const values = flat.map((f) => f.get(field) ?? '(absent)');
    return values.every((v) => v === values[0]) ? [] : [[field, values]];
  });
}

function cell(text: string): string {
  const short = text.length > MAX_CELL ? `${text.slice(0, MAX_CELL)}…` : text;
  return `<td>${escapeHtml(short)}</td>`;
}

function runHeads(runs: CompareRun[]): string {
  return runs.map((r) => `<th scope="col">${escapeHtml(r.id)}</th>`).join('');
}

function finalMetricsTable(runs: CompareRun[]): string {
  const lasts = runs.map((r) => r.records.at(-1) ?? {});
  const fields = [...new Set(lasts.flatMap((l) => Object.keys(l).filter((k) => typeof l[k] === 'number' || l[k] === null)))];
  const rows = fields.map((f) => `<tr><th scope="row">${escapeHtml(f)}</th>`
    + lasts.map((l) => `<td>${f in l ? showNumber(l[f]) : ''}</td>`).join('') + '</tr>').join('');
  return `<table id="final-metrics"><caption>Final metrics (last record of each run)</caption>`
    + `<thead><tr><th scope="col">metric</th>${runHeads(runs)}</tr></thead><tbody>${rows}</tbody></table>`;
}

function configTable(runs: CompareRun[]): string {
  const diffs = configDifferences(runs.map((r) => r.config));
  if (!diffs.length) return '<p id="config-diff">The configs are identical.</p>';
  const rows = diffs.map(([f, values]) => `<tr><th scope="row">${escapeHtml(f)}</th>${values.map(cell).join('')}</tr>`);
  return `<table id="config-diff"><caption>Config fields that differ</caption>`
    + `<thead><tr><th scope="col">field</th>${runHeads(runs)}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * The compare page's HTML.
 *
 * @param runs the runs, in the order asked for
 * @param token the access token when bound beyond loopback
 * @example
 * const html = comparePage([{ id: 'a', config: ca, records: ra }, { id: 'b', config: cb, records: rb }]);
 */
export function comparePage(runs: CompareRun[], token?: string): string {
  const sources = Object.fromEntries(runs.map((r) => [r.id, `/api/runs/${encodeURIComponent(r.id)}/metrics`]));
  const specs = mergeChartSpecs(runs.map((r) => chartSpecs(r.id, r.records)));
  const body = `${chartSpecsBlock(specs)}
<div class="charts" id="charts" data-charts data-sources="${escapeHtml(JSON.stringify(sources))}"></div>
<div class="scroll">${finalMetricsTable(runs)}</div>
<div class="scroll">${configTable(runs)}</div>`;
  return uiPage(`Compare ${runs.map((r) => r.id).join(', ')}`, body, token, { charts: true });
}
