/**
 * Alert rules — `METRIC OP THRESHOLD over WINDOW`, e.g. `drift.share > 0.3 over 500 predictions` or
 * `accuracy < 0.8 over 1h` — and their delivery: a real HTTP POST of a JSON body to a webhook plus an
 * incident in the incident log. A rule fires once when it starts to hold and again only after it cleared.
 */
import { SwitchyardError } from '../util/errors.ts';
import { formatWindow, parseWindow, type Window } from './store.ts';

/**
 * A parsed alert rule.
 *
 * @example
 * parseRule('accuracy < 0.8 over 1h'); // { text, metric: 'accuracy', op: '<', threshold: 0.8, window: { kind: 'time', ms: 3600000 } }
 */
export interface AlertRule {
  text: string;
  metric: string;
  op: '>' | '>=' | '<' | '<=';
  threshold: number;
  window: Window;
  /** Rows the window must hold before the rule is judged (count windows: the count; time windows: 30). */
  minRows: number;
}

/** Metrics judged on labelled rows only (the window is the last N labelled predictions). */
export const LABEL_METRICS = new Set(['accuracy', 'ece', 'labelled']);

/**
 * Parses `METRIC OP THRESHOLD over WINDOW [min N]`.
 *
 * @example
 * parseRule('drift.share > 0.3 over 500 predictions').window; // { kind: 'count', n: 500 }
 */
export function parseRule(text: string): AlertRule {
  const m = /^\s*([A-Za-z_][\w.-]*)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s+over\s+(.+?)(?:\s+min\s+(\d+))?\s*$/i.exec(text);
  if (!m) throw new SwitchyardError('E_ALERT_RULE', `alert rule '${text}' is not of the form 'METRIC OP THRESHOLD over WINDOW'`, "e.g. 'drift.share > 0.3 over 500 predictions' or 'accuracy < 0.8 over 1h'");
  const window = parseWindow(m[4]);
  const minRows = m[5] ? Number(m[5]) : window.kind === 'count' ? window.n : 30;
  return { text: text.trim(), metric: m[1], op: m[2] as AlertRule['op'], threshold: Number(m[3]), window, minRows };
}

/**
 * Whether `value` breaks the rule (`null` — not measurable yet — never does).
 *
 * @example
 * breaches(parseRule('accuracy < 0.8 over 100'), 0.7); // true
 */
export function breaches(rule: AlertRule, value: number | null | undefined): boolean {
  if (value === null || value === undefined || Number.isNaN(value)) return false;
  switch (rule.op) {
    case '>': return value > rule.threshold;
    case '>=': return value >= rule.threshold;
    case '<': return value < rule.threshold;
    case '<=': return value <= rule.threshold;
  }
}

/**
 * The JSON body a webhook receives.
 *
 * @example
 * const a: AlertPayload = { alert: 'drift.share > 0.3 over 500 predictions', status: 'firing', metric: 'drift.share', value: 0.6, threshold: 0.3, window: '500 predictions', model: 'churn', role: 'primary', versions: ['3'], rows: 500, incident: '7', at: new Date().toISOString() };
 */
export interface AlertPayload {
  alert: string;
  status: 'firing';
  metric: string;
  value: number;
  threshold: number;
  window: string;
  model: string;
  role: string;
  versions: string[];
  rows: number;
  incident: string | null;
  at: string;
}

/**
 * POSTs `payload` as JSON to `url` (5 s timeout, 2 retries on network errors and 5xx).
 *
 * @example
 * const r = await postWebhook('http://127.0.0.1:9000/hook', payload); // { ok: true, status: 200, attempts: 1 }
 */
export async function postWebhook(url: string, payload: unknown, o: { timeoutMs?: number; retries?: number } = {}): Promise<{ ok: boolean; status?: number; error?: string; attempts: number }> {
  let last: { ok: boolean; status?: number; error?: string } = { ok: false };
  const tries = 1 + (o.retries ?? 2);
  for (let attempt = 1; attempt <= tries; attempt++) {
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'switchyard-monitor' }, body: JSON.stringify(payload), signal: AbortSignal.timeout(o.timeoutMs ?? 5000) });
      await r.arrayBuffer();
      last = { ok: r.ok, status: r.status };
      if (r.ok || r.status < 500) return { ...last, attempts: attempt };
    } catch (e) {
      last = { ok: false, error: (e as Error).message };
    }
    if (attempt < tries) await new Promise((res) => setTimeout(res, 100 * attempt));
  }
  return { ...last, attempts: tries };
}

/**
 * Describes a rule's window and threshold for titles.
 *
 * @example
 * ruleTitle(parseRule('accuracy < 0.8 over 1h'), 0.71); // 'accuracy 0.71 < 0.8 over 1h'
 */
export function ruleTitle(rule: AlertRule, value: number): string {
  return `${rule.metric} ${+value.toPrecision(4)} ${rule.op} ${rule.threshold} over ${formatWindow(rule.window)}`;
}
