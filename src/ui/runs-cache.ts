/**
 * What the runs table needs of each run, kept between requests: the kind from `config.json` (reread when its
 * size, mtime or inode changes) and a running summary of `metrics.jsonl` (records, last x, lowest loss per
 * metric). A growing `metrics.jsonl` is read from where the last read ended; a file that shrank, was replaced
 * (new inode) or changed in place (same size, new mtime) is read again from the start.
 *
 * @module
 */
import { existsSync, statSync, type Stats } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RUN_FILES } from '../train/run-dir.ts';
import { MANIFEST_NAME } from '../util/fs.ts';
import { LOSS_METRICS, parseMetricLines, recordX, type RunSummary } from './runs.ts';

/** A summary of the complete lines of `metrics.jsonl` up to `offset`, plus the partial line after them. */
interface MetricsState {
  key: string;
  ino: number;
  size: number;
  offset: number;
  partial: string;
  count: number;
  lastX: number;
  best: Record<string, number>;
}

interface ConfigState {
  key: string;
  kind: string;
  damaged: boolean;
}

const EMPTY: MetricsState = { key: '', ino: -1, size: 0, offset: 0, partial: '', count: 0, lastX: 0, best: {} };

/**
 * Stats are synchronous: a warm runs table is nothing but stats (three per run), and 3,000 of them cost several
 * times less called directly than each handed to the thread pool and back (measured with bench/ui.ts).
 */
const quickStat = (file: string): Stats | undefined => statSync(file, { throwIfNoEntry: false });

const keyOf = (s: Stats): string => `${s.ino}:${s.size}:${s.mtimeMs}`;

/** The state after the records in `text` (the file's bytes from `s.offset`); `s` itself is left unchanged. */
function advance(s: MetricsState, text: string): MetricsState {
  const lines = (s.partial + text).split('\n');
  const partial = lines.pop() ?? '';
  let { count, lastX } = s;
  const best = { ...s.best };
  for (const rec of parseMetricLines(lines.join('\n'))) {
    lastX = recordX(rec, count);
    count++;
    for (const m of LOSS_METRICS) {
      const v = rec[m];
      if (typeof v === 'number' && Number.isFinite(v) && !(v >= best[m])) best[m] = v;
    }
  }
  return { ...s, partial, count, lastX, best };
}

async function readFrom(file: string, from: number, to: number): Promise<string> {
  const h = await open(file, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    await h.read(buf, 0, buf.length, from);
    return buf.toString('utf8');
  } finally {
    await h.close();
  }
}

/**
 * Summaries of runs, remembered per run directory between calls of `listRuns` (one cache per dashboard).
 *
 * @example
 * const cache = new RunsCache();
 * const rows = await listRuns('runs', cache); // reads every metrics.jsonl once
 * await listRuns('runs', cache);              // reads only what was appended since
 */
export class RunsCache {
  private readonly configs = new Map<string, ConfigState>();
  private readonly metrics = new Map<string, MetricsState>();
  /** Reads under way, so that requests arriving together read a file once. */
  private readonly reading = new Map<string, Promise<MetricsState>>();

  /**
   * The summary of the run in `dir`, or undefined when it has no `config.json`.
   *
   * @param dir the run directory
   * @param id its id (the directory name)
   * @example
   * const row = await new RunsCache().summary('runs/penguins', 'penguins');
   */
  async summary(dir: string, id: string): Promise<RunSummary | undefined> {
    const [config, finished, m] = await Promise.all([
      this.config(join(dir, RUN_FILES.config)),
      existsSync(join(dir, MANIFEST_NAME)),
      this.metricsOf(join(dir, RUN_FILES.metrics)),
    ]);
    if (!config) return undefined;
    const status: RunSummary['status'] = config.damaged ? 'damaged' : finished ? 'finished' : 'running';
    // A last line without its newline (not yet written whole, or a file that does not end in one) counts if it parses.
    const s = m.partial.trim() ? advance(m, '\n') : m;
    const row: RunSummary = { id, kind: config.kind, status, steps: s.count ? s.lastX : 0 };
    const metric = LOSS_METRICS.find((x) => s.best[x] !== undefined);
    return metric ? { ...row, bestMetric: metric, bestValue: s.best[metric] } : row;
  }

  private async config(file: string): Promise<ConfigState | undefined> {
    const st = quickStat(file);
    if (!st) return undefined;
    const old = this.configs.get(file);
    if (old?.key === keyOf(st)) return old;
    let state: ConfigState;
    try {
      state = { key: keyOf(st), kind: String(JSON.parse(await readFile(file, 'utf8')).kind ?? '?'), damaged: false };
    } catch {
      state = { key: keyOf(st), kind: '?', damaged: true };
    }
    this.configs.set(file, state);
    return state;
  }

  private metricsOf(file: string): Promise<MetricsState> {
    const under = this.reading.get(file);
    if (under) return under;
    const read = this.readMetrics(file).finally(() => this.reading.delete(file));
    this.reading.set(file, read);
    return read;
  }

  private async readMetrics(file: string): Promise<MetricsState> {
    const st = quickStat(file);
    if (!st) return EMPTY;
    const old = this.metrics.get(file) ?? EMPTY;
    if (old.key === keyOf(st)) return old;
    const grown = old.ino === st.ino && st.size > old.size;
    const from = grown ? old : { ...EMPTY, ino: st.ino };
    const next = advance(from, await readFrom(file, from.offset, st.size));
    const state = { ...next, key: keyOf(st), size: st.size, offset: st.size };
    this.metrics.set(file, state);
    return state;
  }
}
