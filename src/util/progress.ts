/**
 * A one-line progress bar for long work, drawn on stderr:
 *
 * ```
 * train [########------------] 45% 1.2k ex/s ETA 0:12 loss 0.342
 * ```
 *
 * It redraws in place (`\r`) at most every 100 ms, shows a smoothed rate and an ETA, and is silent when
 * the stream is not a TTY or when `enabled` is false (the CLI passes `!quiet`). With a non-TTY stream and
 * `SWITCHYARD_PROGRESS=lines` in the environment it prints one plain line every `linePercent` percent
 * instead (useful in logs and tests). Rendering is synchronous and cheap: call it between steps.
 */

/** The part of a stream that {@link Progress} uses; `process.stderr` satisfies it. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): unknown;
}

/** Options for {@link Progress}. */
export interface ProgressOptions {
  /** Units of work in total; 0 or less when unknown (no bar, percentage or ETA then). */
  total: number;
  /** Text before the bar, e.g. `train` or `epoch 2/5`. */
  label: string;
  /** Unit name for the rate, e.g. `ex`, `tok`, `step`. Default `it`. */
  unit?: 'ex' | 'tok' | string;
  /** Where to draw. Default `process.stderr`. */
  stream?: ProgressStream;
  /** False silences the bar entirely (e.g. `--quiet`). Default true. */
  enabled?: boolean;
  /** Environment to read `SWITCHYARD_PROGRESS` from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Clock in milliseconds. Default `performance.now`. */
  now?: () => number;
  /** Minimum milliseconds between two redraws on a TTY. Default 100. */
  redrawMs?: number;
  /** Width of the bar in characters. Default 20. */
  barWidth?: number;
  /** In `lines` mode, print a line each time progress crosses a multiple of this percentage. Default 10. */
  linePercent?: number;
}

/** How a {@link Progress} draws: in place on a TTY, plain lines, or not at all. */
export type ProgressMode = 'tty' | 'lines' | 'off';

/**
 * Formats seconds as `m:ss` or `h:mm:ss`; non-finite or negative input gives `--:--`.
 *
 * @example
 * formatDuration(12);   // '0:12'
 * formatDuration(3725); // '1:02:05'
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * Formats a rate per second with a k/M/G suffix, e.g. `1.2k ex/s`; non-finite gives `- ex/s`.
 *
 * @example
 * formatRate(1234, 'ex'); // '1.2k ex/s'
 * formatRate(3.456, 'tok'); // '3.46 tok/s'
 */
export function formatRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return `- ${unit}/s`;
  return `${formatCompact(perSecond)} ${unit}/s`;
}

function formatCompact(x: number): string {
  const units: [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, suffix] of units) {
    if (x >= scale) {
      const v = x / scale;
      return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}${suffix}`;
    }
  }
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return String(Number(x.toPrecision(3)));
}

function formatField(v: string | number): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  return String(Number(v.toPrecision(3)));
}

/**
 * A progress bar. Create one per long loop, `tick` as work completes, `done` at the end.
 *
 * @example
 * const bar = new Progress({ total: 1000, label: 'train', unit: 'ex', enabled: !args.quiet });
 * for (const batch of batches) {
 *   const loss = step(batch);
 *   bar.tick(batch.length, { loss });
 * }
 * bar.done();
 */
export class Progress {
  /** How this bar draws, decided once at construction. */
  readonly mode: ProgressMode;
  private readonly total: number;
  private readonly label: string;
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly redrawMs: number;
  private readonly barWidth: number;
  private readonly linePercent: number;
  private readonly start: number;
  private count = 0;
  private fields: Record<string, string | number> = {};
  private lastDraw = -Infinity;
  private lastSampleTime: number;
  private lastSampleCount = 0;
  private rate = NaN;
  private lastLineBucket = -1;
  private lastLineCount = NaN;
  private lastLen = 0;
  private finished = false;

  constructor(opts: ProgressOptions) {
    this.total = opts.total;
    this.label = opts.label;
    this.unit = opts.unit ?? 'it';
    this.stream = opts.stream ?? process.stderr;
    this.now = opts.now ?? (() => performance.now());
    this.redrawMs = opts.redrawMs ?? 100;
    this.barWidth = opts.barWidth ?? 20;
    this.linePercent = Math.max(1, opts.linePercent ?? 10);
    const env = opts.env ?? process.env;
    if (opts.enabled === false) this.mode = 'off';
    else if (this.stream.isTTY) this.mode = 'tty';
    else if (env.SWITCHYARD_PROGRESS === 'lines') this.mode = 'lines';
    else this.mode = 'off';
    this.start = this.now();
    this.lastSampleTime = this.start;
  }

  /** Units done so far. */
  get current(): number {
    return this.count;
  }

  /**
   * Records `n` more units done (default 1) and merges `fields` (shown after the ETA, e.g. `{ loss }`).
   *
   * @example
   * bar.tick(32, { loss: 0.342, lr: 3e-4 });
   */
  tick(n = 1, fields?: Record<string, string | number>): void {
    this.set(this.count + n, fields);
  }

  /**
   * Sets the units done to `done` and merges `fields`.
   *
   * @example
   * bar.set(500, { loss: 0.5 });
   */
  set(done: number, fields?: Record<string, string | number>): void {
    if (this.finished) return;
    this.count = done;
    if (fields) Object.assign(this.fields, fields);
    if (this.mode === 'off') return;
    const t = this.now();
    if (this.mode === 'tty') {
      if (t - this.lastDraw < this.redrawMs) return;
      this.sample(t);
      this.drawTty(t);
    } else {
      // Rate samples at least redrawMs apart, as on a TTY: smoothing per-tick rates of fine-grained, uneven work
      // (one token) is biased and swings with every pause (a 100% line once read 381 tok/s after 1.6k all along).
      if (t - this.lastSampleTime >= this.redrawMs) this.sample(t);
      const bucket = this.bucket();
      if (bucket > this.lastLineBucket) {
        this.lastLineBucket = bucket;
        this.lastLineCount = this.count;
        this.stream.write(this.text(false) + '\n');
      }
    }
  }

  /**
   * Draws the final state and ends the line. Later calls to `tick`/`set`/`done` do nothing.
   *
   * @example
   * bar.done();
   */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.mode === 'off') return;
    const t = this.now();
    const elapsed = (t - this.start) / 1000;
    if (elapsed > 0) this.rate = this.count / elapsed; // report the overall average at the end
    if (this.mode === 'tty') {
      this.drawTty(t);
      this.stream.write('\n');
    } else if (this.lastLineCount !== this.count) {
      this.stream.write(this.text(false) + '\n');
    }
  }

  private bucket(): number {
    if (this.total <= 0) return 0;
    return Math.floor((Math.min(1, this.count / this.total) * 100) / this.linePercent);
  }

  private sample(t: number): void {
    const dt = (t - this.lastSampleTime) / 1000;
    if (dt <= 0) return;
    const inst = (this.count - this.lastSampleCount) / dt;
    // Exponential smoothing; the first sample seeds it.
    this.rate = Number.isNaN(this.rate) ? inst : 0.3 * inst + 0.7 * this.rate;
    this.lastSampleTime = t;
    this.lastSampleCount = this.count;
  }

  private drawTty(t: number): void {
    this.lastDraw = t;
    let line = this.text(true);
    const cols = this.stream.columns;
    if (cols && cols > 1 && line.length > cols - 1) line = line.slice(0, cols - 1);
    const pad = this.lastLen > line.length ? ' '.repeat(this.lastLen - line.length) : '';
    this.lastLen = line.length;
    this.stream.write('\r' + line + pad);
  }

  /** The status text: `label [bar] pct rate ETA fields`; the bar only when `withBar`. */
  private text(withBar: boolean): string {
    const parts: string[] = [this.label];
    if (this.total > 0) {
      const frac = Math.max(0, Math.min(1, this.count / this.total));
      if (withBar) {
        const filled = Math.round(frac * this.barWidth);
        parts.push(`[${'#'.repeat(filled)}${'-'.repeat(this.barWidth - filled)}]`);
      }
      parts.push(`${Math.floor(frac * 100)}%`);
      if (!withBar) parts.push(`${this.count}/${this.total}`);
    } else {
      parts.push(`${this.count} ${this.unit}`);
    }
    parts.push(formatRate(this.rate, this.unit));
    if (this.total > 0) {
      const eta = this.rate > 0 ? Math.max(0, this.total - this.count) / this.rate : NaN;
      parts.push(`ETA ${formatDuration(this.finished ? 0 : eta)}`);
    }
    for (const [k, v] of Object.entries(this.fields)) parts.push(`${k} ${formatField(v)}`);
    return parts.join(' ');
  }
}
