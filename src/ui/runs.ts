/**
 * The runs folder as the dashboard sees it: one row per run directory (kind, status, steps, best metric), a
 * run's metric records, its curve, and the one check that keeps a run id inside the folder.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lineChart, type ChartSeries } from '../report/svg-chart.ts';
import { SwitchyardError } from '../util/errors.ts';
import { RUN_FILES } from '../train/run-dir.ts';
import { RunsCache } from './runs-cache.ts';

/**
 * One row of the runs table.
 *
 * @example
 * const r: RunSummary = { id: 'penguins', kind: 'tabular-mlp', status: 'finished', steps: 30, bestValue: 0.21 };
 */
export interface RunSummary {
  id: string;
  kind: string;
  /** `finished` (manifest written), `running` (no manifest: training or interrupted), `damaged` (bad config). */
  status: 'finished' | 'running' | 'damaged';
  /** Updates (tabular) or steps (language models) of the last record; 0 without records. */
  steps: number;
  /** The metric the best value is of (`validLoss`, else `trainLoss`), or undefined without records. */
  bestMetric?: string;
  bestValue?: number;
}

/** A run id is one directory name: letters, digits, `.`, `_`, `-`, not starting with a dot. */
const RUN_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/**
 * The directory of run `id` inside `root`; throws `E_RUN_ID` for anything but a plain directory name (no `/`,
 * no `..`, no leading dot), so a request cannot read outside the runs folder.
 *
 * @param root the runs folder
 * @param id the run id from a URL
 * @example
 * runDirOf('runs', 'penguins'); // 'runs/penguins'
 * runDirOf('runs', '..');       // throws E_RUN_ID
 */
export function runDirOf(root: string, id: string): string {
  if (!RUN_ID.test(id)) {
    const what = `run id ${JSON.stringify(id.slice(0, 80))} is not a directory name`;
    throw new SwitchyardError('E_RUN_ID', what, 'use an id from /api/runs');
  }
  const dir = join(root, id);
  if (!existsSync(join(dir, RUN_FILES.config))) {
    throw new SwitchyardError('E_RUN_ID', `no run ${JSON.stringify(id)} in ${root}`, 'use an id from /api/runs');
  }
  return dir;
}

/**
 * Parses `metrics.jsonl` text into records; a partly written last line (training is appending) is left out.
 *
 * @param text the file's content
 * @example
 * parseMetricLines('{"epoch":1,"trainLoss":0.7}\n{"epo'); // [{ epoch: 1, trainLoss: 0.7 }]
 */
export function parseMetricLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const rec = JSON.parse(line);
      if (rec && typeof rec === 'object' && !Array.isArray(rec)) out.push(rec);
    } catch {
      // an incomplete line being written; the next read sees it whole
    }
  }
  return out;
}

/**
 * The metric records of run `id` (empty when it has none yet).
 *
 * @param root the runs folder
 * @param id the run id
 * @example
 * const recs = await readRunMetrics('runs', 'penguins'); // [{ epoch: 1, trainLoss: 0.69, ... }, ...]
 */
export async function readRunMetrics(root: string, id: string): Promise<Record<string, unknown>[]> {
  const file = join(runDirOf(root, id), RUN_FILES.metrics);
  return existsSync(file) ? parseMetricLines(await readFile(file, 'utf8')) : [];
}

/**
 * The x of a record: the step, update count or epoch it was written at, else its position (1-based).
 *
 * @param r a metrics record
 * @param i its index in the file
 * @example
 * recordX({ epoch: 3, trainLoss: 0.5 }, 2); // 3
 */
export const recordX = (r: Record<string, unknown>, i: number): number =>
  [r.step, r.updates, r.epoch].find((v): v is number => typeof v === 'number') ?? i + 1;
const xOf = recordX;

/** The loss metrics drawn and ranked, in order of preference (`loss`: diffusion runs). */
export const LOSS_METRICS = ['validLoss', 'trainLoss', 'loss'] as const;
const LOSSES = LOSS_METRICS;

/**
 * Every run directory directly inside `root` (a directory with a `config.json`), sorted by id. With a `cache`
 * kept between calls, only what changed since is read (appended metrics lines, a rewritten config).
 *
 * @param root the runs folder
 * @param cache the summaries of earlier calls (a fresh one reads everything)
 * @example
 * const rows = await listRuns('runs'); // [{ id: 'penguins', kind: 'tabular-mlp', status: 'finished', ... }]
 */
export async function listRuns(root: string, cache: RunsCache = new RunsCache()): Promise<RunSummary[]> {
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (e) {
    const what = `--runs ${root}: cannot read the folder (${(e as Error).message})`;
    throw new SwitchyardError('E_RUNS_DIR', what, 'pass the folder your runs are written to, e.g. --runs runs');
  }
  const ids = names.filter((n) => RUN_ID.test(n)).sort();
  const rows = await Promise.all(ids.map((id) => cache.summary(join(root, id), id)));
  return rows.filter((r): r is RunSummary => r !== undefined);
}

/**
 * The loss curve of a run's records as an SVG line chart: `trainLoss` and `validLoss` (whichever exist) against
 * step, update or epoch.
 *
 * @param recs records of {@link readRunMetrics}
 * @example
 * const svg = runCurveSvg([{ epoch: 1, trainLoss: 0.7 }, { epoch: 2, trainLoss: 0.6 }]);
 */
export function runCurveSvg(recs: Record<string, unknown>[]): string {
  const series: ChartSeries[] = [];
  for (const m of LOSSES) {
    const points = recs.flatMap((r, i): [number, number][] => {
      const y = r[m];
      return typeof y === 'number' ? [[xOf(r, i), y]] : [];
    });
    if (points.length) series.push({ name: m, points });
  }
  return lineChart({ title: 'loss', xLabel: 'step', yLabel: 'loss', series, width: 720, height: 360 });
}
