/**
 * Prometheus metrics in the text exposition format (version 0.0.4): counters, gauges and histograms with
 * labels, rendered by `GET /metrics`. Small on purpose: only what the server records.
 */

type Labels = Record<string, string | number>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

/**
 * A counter or gauge family: one value per label set.
 *
 * @example
 * const c = metrics.counter('requests_total', 'requests served');
 * c.inc({ route: '/v1/predict', status: 200 });
 */
export class Series {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string) {}

  /** Adds `by` (default 1) to the series with `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }

  /** Sets the series with `labels` to `v`. */
  set(labels: Labels, v: number): void {
    this.values.set(labelKey(labels), v);
  }

  /** Drops every series (for gauges describing the current state). */
  reset(): void {
    this.values.clear();
  }

  /** The value of the series with `labels` (0 when absent). */
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  /** Exposition lines. */
  lines(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${fmt(v)}`);
  }
}

/**
 * A histogram family with fixed upper bounds.
 *
 * @example
 * const h = metrics.histogram('latency_seconds', 'request latency', [0.001, 0.01, 0.1]);
 * h.observe({ route: '/v1/predict' }, 0.004);
 */
export class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly bounds: readonly number[],
  ) {}

  /** Records one observation. */
  observe(labels: Labels, v: number): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: new Array(this.bounds.length).fill(0), sum: 0, count: 0 }));
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]) s.counts[i]++;
    s.sum += v;
    s.count++;
  }

  /** Observation count of the series with `labels`. */
  count(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }

  /** Exposition lines (cumulative buckets, `+Inf`, `_sum`, `_count`). */
  lines(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const pre = k ? `${k},` : '';
      this.bounds.forEach((b, i) => out.push(`${this.name}_bucket{${pre}le="${fmt(b)}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${pre}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return out;
  }
}

/**
 * A set of metric families rendered together.
 *
 * @example
 * const m = new Metrics();
 * m.counter('x_total', 'things').inc();
 * m.render(); // '# HELP x_total things\n# TYPE x_total counter\nx_total 1\n'
 */
export class Metrics {
  private readonly families: Family[] = [];

  private add<T extends { lines(): string[] }>(name: string, help: string, type: Family['type'], m: T): T {
    if (this.families.some((f) => f.name === name)) throw new Error(`metric ${name} registered twice`);
    this.families.push({ name, help, type, render: () => m.lines() });
    return m;
  }

  /** Registers a counter family. */
  counter(name: string, help: string): Series {
    return this.add(name, help, 'counter', new Series(name));
  }

  /** Registers a gauge family. */
  gauge(name: string, help: string): Series {
    return this.add(name, help, 'gauge', new Series(name));
  }

  /** Registers a histogram family with upper bounds `bounds`. */
  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    return this.add(name, help, 'histogram', new Histogram(name, bounds));
  }

  /** The text exposition of every family. */
  render(): string {
    const out: string[] = [];
    for (const f of this.families) out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`, ...f.render());
    return out.join('\n') + '\n';
  }
}

/**
 * The metrics the server records.
 *
 * @example
 * const sm = serveMetrics();
 * sm.requests.inc({ route: '/healthz', method: 'GET', status: 200 });
 */
export function serveMetrics() {
  const m = new Metrics();
  return {
    registry: m,
    requests: m.counter('switchyard_http_requests_total', 'HTTP requests by route, method and status code'),
    latency: m.histogram('switchyard_http_request_duration_seconds', 'HTTP request latency by route', [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
    inflight: m.gauge('switchyard_http_requests_in_flight', 'HTTP requests being served now'),
    batchSize: m.histogram('switchyard_batch_size', 'rows per ONNX Runtime call (dynamic micro-batching)', [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]),
    modelInfo: m.gauge('switchyard_model_version_info', 'served model versions (value 1) by name, version and role'),
    predictions: m.counter('switchyard_predictions_total', 'predict requests answered, by model version and role'),
    loadFailures: m.counter('switchyard_model_load_failures_total', 'versions that failed to load (the last good version kept serving)'),
    switches: m.counter('switchyard_model_switches_total', 'atomic version switches by role'),
    rollbacks: m.counter('switchyard_rollbacks_total', 'automatic rollbacks by rule'),
    shadowCompared: m.counter('switchyard_shadow_comparisons_total', 'requests mirrored to the shadow version and compared'),
    shadowAgreement: m.gauge('switchyard_shadow_agreement_ratio', 'share of shadow predictions equal to the served ones'),
    rateLimited: m.counter('switchyard_rate_limited_total', 'requests refused by the rate limiter'),
    generatedTokens: m.counter('switchyard_generated_tokens_total', 'tokens sampled by /v1/generate (cancelled too)'),
    generations: m.counter(
      'switchyard_generations_total',
      'generations by outcome: done, disconnected (client gone), shutdown, error, rejected (queue full)',
    ),
    generationsQueued: m.gauge('switchyard_generations_queued', 'generations running or waiting now'),
  };
}

/**
 * The metrics object {@link serveMetrics} returns.
 *
 * @example
 * const sm: ServeMetrics = serveMetrics();
 */
export type ServeMetrics = ReturnType<typeof serveMetrics>;
