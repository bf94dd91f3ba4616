/**
 * Dynamic micro-batching: requests that arrive close together share one ONNX Runtime call. A batch is
 * sent when it holds `maxBatch` rows, when the oldest request has waited `waitMs`, or as soon as the
 * previous call returns (the queue filled while the model was busy); one call runs at a time per model.
 * A batch that fails is re-run request by request, so one bad request never fails its neighbours.
 */

/** Runs one batch of `rows` encoded rows (row-major, `width` floats each) and returns row-major outputs. */
export type BatchFn = (x: Float32Array, rows: number) => Promise<BatchOutput>;

/**
 * Row-major outputs of one call: each named output has `perRow` values per row.
 *
 * @example
 * const out: BatchOutput = { probabilities: { data: new Float32Array(6), perRow: 3 } };
 */
export type BatchOutput = Record<string, { data: ArrayLike<number | bigint>; perRow: number }>;

/**
 * Options of {@link MicroBatcher}.
 *
 * @example
 * const o: BatcherOptions = { maxBatch: 64, waitMs: 2 };
 */
export interface BatcherOptions {
  /** Rows per call at most (a single larger request still runs, alone). Default 64. */
  maxBatch?: number;
  /** Longest time the first queued request waits for company, in ms. Default 2. */
  waitMs?: number;
  /** Called after every call with its row count and duration. */
  onBatch?: (rows: number, ms: number) => void;
}

interface Pending {
  x: Float32Array;
  rows: number;
  resolve: (out: BatchOutput) => void;
  reject: (err: unknown) => void;
}

/**
 * Queues requests and runs them in batches through `run`.
 *
 * @example
 * const b = new MicroBatcher(4, (x, n) => session.run(x, n), { maxBatch: 64, waitMs: 2 });
 * const out = await b.submit(new Float32Array(4), 1);
 */
export class MicroBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private readonly maxBatch: number;
  private readonly waitMs: number;

  constructor(
    private readonly width: number,
    private readonly run: BatchFn,
    private readonly opts: BatcherOptions = {},
  ) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? 64);
    this.waitMs = Math.max(0, opts.waitMs ?? 2);
  }

  /** Requests waiting for a call. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues `rows` encoded rows; resolves with this request's slice of the outputs. */
  submit(x: Float32Array, rows: number): Promise<BatchOutput> {
    return new Promise<BatchOutput>((resolve, reject) => {
      this.queue.push({ x, rows, resolve, reject });
      this.queuedRows += rows;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.busy || this.queue.length === 0) return;
    if (this.queuedRows >= this.maxBatch || this.waitMs === 0) {
      this.clearTimer();
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.waitMs);
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private take(): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    while (this.queue.length && (batch.length === 0 || rows + this.queue[0].rows <= this.maxBatch)) {
      const p = this.queue.shift()!;
      rows += p.rows;
      batch.push(p);
    }
    this.queuedRows -= rows;
    return batch;
  }

  private async flush(): Promise<void> {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    const batch = this.take();
    try {
      await this.runBatch(batch);
    } finally {
      this.busy = false;
      // Whatever queued while the model was busy goes now: the call itself was the wait.
      if (this.queue.length) {
        this.clearTimer();
        void this.flush();
      }
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const rows = batch.reduce((a, p) => a + p.rows, 0);
    let x: Float32Array;
    if (batch.length === 1) x = batch[0].x;
    else {
      x = new Float32Array(rows * this.width);
      let o = 0;
      for (const p of batch) {
        x.set(p.x, o);
        o += p.x.length;
      }
    }
    const t0 = performance.now();
    let out: BatchOutput;
    try {
      out = await this.run(x, rows);
    } catch (err) {
      if (batch.length === 1) batch[0].reject(err);
      else for (const p of batch) await this.runBatch([p]);
      return;
    }
    this.opts.onBatch?.(rows, performance.now() - t0);
    let r0 = 0;
    for (const p of batch) {
      const slice: BatchOutput = {};
      for (const [name, o] of Object.entries(out)) {
        const d = o.data as Float32Array;
        slice[name] = { data: d.subarray ? d.subarray(r0 * o.perRow, (r0 + p.rows) * o.perRow) : Array.prototype.slice.call(d, r0 * o.perRow, (r0 + p.rows) * o.perRow), perRow: o.perRow };
      }
      r0 += p.rows;
      p.resolve(slice);
    }
  }

  /** Resolves when nothing is queued or running. */
  async drain(): Promise<void> {
    while (this.busy || this.queue.length) await new Promise((r) => setTimeout(r, 1));
  }
}
