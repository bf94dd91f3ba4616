/**
 * The MoE panel of a run page, from what MoE training records in `metrics.jsonl`: at each validation record,
 * `aux` holds per MoE layer (`blocks.N.mlp`) the tokens routed to each expert (`tokens_per_expert`), the router
 * entropy, the load-balancing loss and, with capacity dispatch only, the dropped tokens. All are values of the
 * last micro-step before the record, not means over the interval. Rendered as HTML tables (a colour-scaled
 * heatmap of expert load per layer over time), so the panel reads without JavaScript.
 *
 * @module
 */
import { escapeHtml } from '../report/html.ts';
import { recordX } from './runs.ts';

/** At most this many records are shown as heatmap columns (spread evenly, always ending at the last one). */
const HEAT_COLUMNS = 16;

/** One MoE layer's telemetry over the records that have it. */
interface MoeLayer {
  name: string;
  steps: number[];
  load: number[][];
  entropy?: number;
  dropped?: number;
  auxLoss?: number;
}

function layersOf(recs: Record<string, unknown>[]): MoeLayer[] {
  const layers = new Map<string, MoeLayer>();
  recs.forEach((r, i) => {
    const aux = r.aux as Record<string, unknown> | undefined;
    if (!aux || typeof aux !== 'object') return;
    for (const [key, v] of Object.entries(aux)) {
      const m = /^(.*)\.(tokens_per_expert|router_entropy|dropped_tokens|aux_loss)$/.exec(key);
      if (!m) continue;
      const layer = layers.get(m[1]) ?? { name: m[1], steps: [], load: [] };
      layers.set(m[1], layer);
      if (m[2] === 'tokens_per_expert' && Array.isArray(v)) {
        layer.steps.push(recordX(r, i));
        layer.load.push(v.map(Number));
      } else if (typeof v === 'number') {
        if (m[2] === 'router_entropy') layer.entropy = v;
        if (m[2] === 'dropped_tokens') layer.dropped = v;
        if (m[2] === 'aux_loss') layer.auxLoss = v;
      }
    }
  });
  return [...layers.values()];
}

/** Evenly spread indices of `n` items, at most `max`, always including the last. */
function sampleIndices(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: max }, (_, i) => Math.round(((n - 1) * i) / (max - 1)));
}

/** The colour class of an expert's share: against the uniform share 1/E, under-loaded blue, over-loaded red. */
function heatClass(share: number, experts: number): string {
  const ratio = share * experts;
  const bounds = [0.25, 0.5, 0.85, 1.15, 1.5, 2];
  const bin = bounds.findIndex((b) => ratio < b);
  return `heat-${bin < 0 ? 6 : bin}`;
}

function heatmap(layer: MoeLayer): string {
  const cols = sampleIndices(layer.steps.length, HEAT_COLUMNS);
  const experts = Math.max(...layer.load.map((l) => l.length));
  const head = cols.map((c) => `<th scope="col">${layer.steps[c]}</th>`).join('');
  const rows = Array.from({ length: experts }, (_, e) => {
    const cells = cols.map((c) => {
      const load = layer.load[c];
      const total = load.reduce((a, b) => a + b, 0) || 1;
      const share = (load[e] ?? 0) / total;
      return `<td class="${heatClass(share, experts)}" title="${load[e] ?? 0} tokens">${Math.round(share * 100)}%</td>`;
    }).join('');
    return `<tr><th scope="row">expert ${e}</th>${cells}</tr>`;
  }).join('');
  const uniform = Math.round(100 / experts);
  const caption = `${escapeHtml(layer.name)}: share of the layer's token assignments per expert at each recorded step`
    + ` (uniform: ${uniform}%; blue under, red over)`;
  return `<div class="scroll"><table class="heat" data-layer="${escapeHtml(layer.name)}"><caption>${caption}</caption>
<thead><tr><th scope="col">step</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

const fmt = (v: number | undefined, none: string): string =>
  v === undefined ? none : Number(v.toPrecision(4)).toString();

function lastValues(layers: MoeLayer[]): string {
  const rows = layers.map((l) => {
    const experts = Math.max(...l.load.map((x) => x.length), 0);
    const maxEntropy = experts ? ` of ${Math.log(experts).toFixed(3)}` : '';
    return `<tr><th scope="row">${escapeHtml(l.name)}</th><td>${fmt(l.entropy, 'not recorded')}${maxEntropy}</td>`
      + `<td>${fmt(l.dropped, 'none (dropless dispatch)')}</td><td>${fmt(l.auxLoss, 'not recorded')}</td></tr>`;
  }).join('');
  return `<table class="facts moe-last"><caption>Last record per MoE layer</caption><thead><tr>`
    + '<th scope="col">layer</th><th scope="col">router entropy (nats, of the maximum)</th>'
    + `<th scope="col">dropped tokens</th><th scope="col">load-balancing loss</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * The inner HTML of the MoE panel, or `''` when the records hold no MoE telemetry (a dense model).
 *
 * @param recs the run's metrics records
 * @example
 * const html = moePanel(await readRunMetrics('runs', 'moe'));
 */
export function moePanel(recs: Record<string, unknown>[]): string {
  const layers = layersOf(recs).filter((l) => l.load.length > 0);
  if (!layers.length) return '';
  const note = '<p>Recorded at each validation step from the last training micro-step before it (not a mean over'
    + ' the interval). Loads count assignments before any capacity drop.</p>';
  return `${note}${lastValues(layers)}${layers.map(heatmap).join('\n')}`;
}
