/**
 * Data-audit benchmark (issue 4 target: profile and check a 1,000,000-row x 20-column CSV and find its planted
 * duplicates in under 60 s on this 2-core machine, peak memory reported). Generates a seeded CSV in the OS temp
 * directory (numeric, integer, categorical and boolean columns, a label, a few missing values and 1% planted
 * exact copies of earlier rows), runs `runAudit` (DuckDB load + profile, integrity, duplicates, leakage, labels;
 * label issues off) in a child process for its own peak RSS, and, when `/usr/bin/python3 -c "import pandas"`
 * works, the same profiling in pandas (bench/pandas_profile.py) side by side.
 * Called by bench/run.ts (`--only audit`); alone: `node bin/run-ts.js bench/audit-profile.ts [--quick] [--rows N]`.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resourceUsage } from 'node:process';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/util/rng.ts';
import { runJsonChild } from './child.ts';
import { formatNumber, updateBenchmarksMd, writeBenchResult } from './report.ts';

const COLORS = ['red', 'green', 'blue', 'amber', 'violet', 'black', 'white', 'grey'];
const CITIES = Array.from({ length: 200 }, (_, i) => `city_${i}`);

/** Column names: 8 float, 4 integer, 4 categorical, 3 boolean, 1 label = 20. */
export const BENCH_COLUMNS = [
  ...Array.from({ length: 8 }, (_, i) => `f${i}`), ...Array.from({ length: 4 }, (_, i) => `n${i}`),
  'color', 'city', 'tier', 'code', 'b0', 'b1', 'b2', 'label',
];

/** Writes the benchmark CSV; returns the number of planted duplicate rows (copies of an earlier row). */
export async function generateAuditCsv(path: string, rows: number, seed = 42): Promise<number> {
  const rng = new Rng(seed);
  const out = createWriteStream(path);
  const recent: string[] = [];
  let planted = 0;
  let buf = BENCH_COLUMNS.join(',') + '\n';
  for (let i = 0; i < rows; i++) {
    let line: string;
    if (recent.length > 100 && rng.next() < 0.01) {
      line = recent[rng.int(recent.length)];
      planted++;
    } else {
      const f = Array.from({ length: 8 }, (_, j) => (rng.next() < 0.002 ? '' : (rng.normal() * (j + 1) + 10 * j).toFixed(4)));
      const n = Array.from({ length: 4 }, (_, j) => String(rng.int(10 ** (j + 1))));
      const x = Number(f[0] || 0);
      const label = rng.next() < 1 / (1 + Math.exp(-x)) ? 'yes' : 'no';
      line = [...f, ...n, COLORS[rng.int(8)], CITIES[rng.int(200)], rng.next() < 0.7 ? 'basic' : 'gold', `C${rng.int(5000)}`, rng.next() < 0.5 ? 'true' : 'false', rng.next() < 0.1 ? 'yes' : 'no', rng.next() < 0.5 ? '1' : '0', label].join(',');
      if (recent.length < 5000) recent.push(line);
      else recent[rng.int(5000)] = line;
    }
    buf += line + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return planted;
}

interface AuditRun {
  seconds: number;
  timings: Record<string, number>;
  peakRssMb: number;
  duplicateRows: number;
  findings: number;
}

/** Child: audits `file` and prints one JSON line. */
async function child(file: string): Promise<void> {
  const { runAudit } = await import('../src/audit/run.ts');
  const t0 = performance.now();
  const r = await runAudit({ data: file, target: 'label', labelIssues: false, progress: { enabled: false } });
  const seconds = (performance.now() - t0) / 1000;
  const dup = r.findings.find((f) => f.check === 'duplicates.exact');
  const out: AuditRun = { seconds, timings: r.timings, peakRssMb: resourceUsage().maxRSS / 1024, duplicateRows: Number(dup?.details?.duplicateRows ?? 0), findings: r.findings.length };
  process.stdout.write(JSON.stringify(out) + '\n');
}

function pandasAvailable(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import pandas'], { stdio: 'ignore' }).status === 0;
}

/** Runs the benchmark; `quick` uses 100,000 rows unless `rows` is given. */
export async function runAuditBench(quick: boolean, log: (s: string) => void, rowsArg?: number): Promise<void> {
  const rows = rowsArg ?? (quick ? 100_000 : 1_000_000);
  const file = join(tmpdir(), `switchyard-audit-bench-${rows}.csv`);
  let t = performance.now();
  const planted = await generateAuditCsv(file, rows);
  log(`generated ${file}: ${rows} rows x ${BENCH_COLUMNS.length} columns, ${planted} planted duplicates (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  try {
    const sy = await runJsonChild<AuditRun>('switchyard audit', process.execPath, ['bin/run-ts.js', 'bench/audit-profile.ts', '--child', file]);
    log(`switchyard: ${sy.seconds.toFixed(1)} s, peak RSS ${sy.peakRssMb.toFixed(0)} MB, ${sy.duplicateRows} duplicates found (planted ${planted}); ${JSON.stringify(sy.timings)}`);
    let pd: { seconds: number; peakRssMb: number; duplicateRows: number; timings: Record<string, number> } | null = null;
    if (pandasAvailable()) {
      t = performance.now();
      pd = await runJsonChild('pandas', '/usr/bin/python3', ['bench/pandas_profile.py', file]);
      log(`pandas: ${pd!.seconds.toFixed(1)} s, peak RSS ${pd!.peakRssMb.toFixed(0)} MB, ${pd!.duplicateRows} duplicates`);
    } else log('pandas: not installed (/usr/bin/python3 -c "import pandas" failed), peer skipped');
    writeBenchResult(rowsArg !== undefined ? `audit-profile-${rows}` : quick ? 'audit-profile-quick' : 'audit-profile', { rows, columns: BENCH_COLUMNS.length, planted, switchyard: sy, pandas: pd });
    if (!quick && rowsArg === undefined) {
      updateBenchmarksMd({
        title: 'Data audit: profile and check a 1M-row CSV',
        name: 'audit-profile',
        intro: `A seeded ${rows.toLocaleString('en-US')}-row x ${BENCH_COLUMNS.length}-column CSV (8 float, 4 integer, 4 categorical, 3 boolean columns and a label; 0.2% missing floats; ${planted.toLocaleString('en-US')} planted exact copies of earlier rows). Switchyard: \`runAudit\` (DuckDB load + profile with quantiles, MAD and histograms, integrity incl. outliers, exact duplicates and conflicting labels, leakage, label checks; label issues off) in its own process. pandas: read_csv + describe, missing counts, nunique, quantiles, MAD, value counts, IQR outliers and duplicated() — profiling only, no leakage or label checks.`,
        columns: ['implementation', 'seconds', 'peak RSS (MB)', 'duplicates found'],
        rows: [
          ['Switchyard audit (DuckDB)', formatNumber(sy.seconds), formatNumber(sy.peakRssMb), sy.duplicateRows],
          ...(pd ? [['pandas profile', formatNumber(pd.seconds), formatNumber(pd.peakRssMb), pd.duplicateRows]] : []),
        ],
        notes: ['Target (issue 4): under 60 s with the planted duplicates found.', `Switchyard seconds per family: ${Object.entries(sy.timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}.`],
      });
    }
  } finally {
    rmSync(file, { force: true });
  }
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') await child(argv[1]);
  else {
    const rows = argv.includes('--rows') ? Number(argv[argv.indexOf('--rows') + 1]) : undefined;
    await runAuditBench(argv.includes('--quick'), (s) => process.stderr.write(s + '\n'), rows);
  }
}
