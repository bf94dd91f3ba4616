/**
 * Mutation testing (StrykerJS) of the numeric core, one folder at a time, as a benchmark-like job: it is slow
 * (every mutant re-runs the folder's tests), so it is not part of `npm test`.
 *
 *   node bin/run-ts.js bench/mutation.ts --folders optim,stats [--stryker path/to/stryker]
 *   node bin/run-ts.js bench/mutation.ts --folders stats --files src/stats/drift.ts,src/stats/paired.ts
 *   node bin/run-ts.js bench/mutation.ts --folders stats --files src/stats/mmd.ts --incremental
 *   node bin/run-ts.js bench/mutation.ts --folders train --files src/train/fit.ts --tests tests/train/fit.test.ts
 *   node bin/run-ts.js bench/mutation.ts --report-only
 *
 * StrykerJS 10 needs Node 22, hence 9.x, a devDependency of the project (so it shares its vitest and typescript).
 * Each folder's mutants run only that folder's tests (MUTATION_TESTS, read by bench/mutation/vitest.config.ts),
 * with per-test coverage; `--tests` runs other test files instead (recorded in the row's "tests run").
 * Scores merge into bench/results/mutation.json and the BENCHMARKS.md section.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, RESULTS_DIR, updateBenchmarksMd, writeBenchResult } from './report.ts';

/** The tests that exercise each mutated folder. */
const FOLDERS: Record<string, string[]> = {
  optim: ['tests/optim/*.test.ts', 'tests/train/step.test.ts'],
  stats: ['tests/stats/*.test.ts'],
  nn: ['tests/nn/*.test.ts'],
  core: ['tests/core/*.test.ts'],
  train: ['tests/train/*.test.ts'],
};

interface FolderScore {
  folder: string;
  mutants: number;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  errors: number;
  /** (killed + timeout) / (mutants - errors), in percent: Stryker's mutation score. */
  score: number;
  /** The same over mutants that some test covers. */
  scoreCovered: number;
  minutes: number;
  date: string;
  /** What was mutated: the folder, or the files of it given with --files. */
  mutated: string;
  /** Stryker's incremental mode reused earlier results of unchanged mutants with unchanged covering tests. */
  incremental?: boolean;
  /** The test files (globs) run against the mutants: the folder's, or those given with --tests. */
  tests?: string[];
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** The parts of Stryker's JSON report (mutation-testing-report-schema) read here. */
interface Report {
  files: Record<string, { mutants: { status: string; mutatorName: string; replacement?: string; location: { start: { line: number } } }[] }>;
}

function scoreOf(folder: string, report: Report, minutes: number): FolderScore {
  const count = (s: string) => Object.values(report.files).reduce((n, f) => n + f.mutants.filter((m) => m.status === s).length, 0);
  const mutants = Object.values(report.files).reduce((n, f) => n + f.mutants.length, 0);
  const [killed, timeout, survived, noCoverage] = ['Killed', 'Timeout', 'Survived', 'NoCoverage'].map(count);
  const errors = count('CompileError') + count('RuntimeError') + count('Ignored');
  const detected = killed + timeout;
  const pct = (x: number, n: number) => (n ? Math.round((1000 * x) / n) / 10 : NaN);
  return {
    folder, mutants, killed, timeout, survived, noCoverage, errors, score: pct(detected, mutants - errors),
    scoreCovered: pct(detected, mutants - errors - noCoverage), minutes, date: new Date().toISOString().slice(0, 10), mutated: `src/${folder}`,
  };
}

/**
 * Where --incremental keeps Stryker's results of one mutated set between runs (ignored by git): a rerun after new
 * tests then re-tests only the mutants whose code or covering tests changed (Stryker's incremental mode).
 */
function incrementalFileOf(folder: string, files: string[] | null): string {
  const set = files ? files.map((f) => f.replace(/^src\/[^/]+\//, '').replace(/\.ts$/, '')).join('+') : 'all';
  return join('scratch', 'stryker-incremental', `${folder}-${set}.json`);
}

function runFolder(folder: string, stryker: string, files: string[] | null, tests: string[], incremental: boolean): FolderScore {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-mutation-'));
  const reportFile = join(dir, 'mutation.json');
  const base = JSON.parse(readFileSync(join(REPO_ROOT, 'stryker.config.json'), 'utf8')) as Record<string, unknown>;
  const mutate = files ?? [`src/${folder}/**/*.ts`, `!src/${folder}/index.ts`];
  const incrementalFile = incrementalFileOf(folder, files);
  // Only a run that found an earlier incremental file reuses anything (the first one runs every mutant).
  const reused = incremental && existsSync(join(REPO_ROOT, incrementalFile));
  // A sandbox of its own under .stryker-tmp (which no sandbox copies), so partial runs may overlap.
  const ignorePatterns = [...((base.ignorePatterns as string[] | undefined) ?? []), '.stryker-tmp'];
  const config = {
    ...base, mutate, jsonReporter: { fileName: reportFile }, tempDirName: `.stryker-tmp/run-${process.pid}`, ignorePatterns,
    ...(incremental ? { incremental: true, incrementalFile } : {}),
  };
  const configFile = join(dir, 'stryker.config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const started = Date.now();
  try {
    const r = spawnSync(stryker, ['run', configFile], {
      cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, MUTATION_TESTS: tests.join(',') },
    });
    if (r.status !== 0 || !existsSync(reportFile)) throw new Error(`stryker failed on src/${folder} (exit ${r.status})`);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
    // The survivors are the to-do list for the tests: print them (the full report stays in the temp folder).
    for (const [file, f] of Object.entries(report.files)) {
      for (const m of f.mutants) {
        if (m.status === 'Survived' || m.status === 'NoCoverage') {
          process.stderr.write(`${m.status} ${file}:${m.location.start.line} ${m.mutatorName}: ${m.replacement ?? ''}\n`);
        }
      }
    }
    process.stderr.write(`full report: ${reportFile}\n`);
    const minutes = Math.round((Date.now() - started) / 6000) / 10;
    const mutated = files ? files.join(' ') : `src/${folder}`;
    return { ...scoreOf(folder, report, minutes), mutated, tests, ...(reused ? { incremental: true } : {}) };
  } finally {
    rmSync(configFile, { force: true });
  }
}

/** Rows are kept per mutated set, so partial runs of one folder (`--files`) accumulate instead of replacing each other. */
function rowKey(s: FolderScore): string {
  return s.mutated === `src/${s.folder}` ? s.folder : `${s.folder}:${s.mutated}`;
}

/** A whole-folder run supersedes every row of that folder; a partial run, the rows that mutated any of its files. */
function supersededKeys(rows: Record<string, FolderScore>, next: FolderScore): string[] {
  const filesOf = (s: FolderScore) => (s.mutated ?? `src/${s.folder}`).split(' ');
  const nextFiles = new Set(filesOf(next));
  const whole = next.mutated === `src/${next.folder}`;
  return Object.entries(rows)
    .filter(([, s]) => s.folder === next.folder && (whole || s.mutated === `src/${s.folder}` || filesOf(s).some((f) => nextFiles.has(f))))
    .map(([key]) => key);
}

/** For a folder run in several partial rows (disjoint file sets), the score of all its rows together. */
function folderTotals(rows: Record<string, FolderScore>): string[] {
  const byFolder = new Map<string, FolderScore[]>();
  for (const s of Object.values(rows)) byFolder.set(s.folder, [...(byFolder.get(s.folder) ?? []), s]);
  return [...byFolder].filter(([, list]) => list.length > 1).map(([folder, list]) => {
    const sum = (pick: (s: FolderScore) => number) => list.reduce((n, s) => n + pick(s), 0);
    const valid = sum((s) => s.mutants - s.errors);
    const detected = sum((s) => s.killed + s.timeout);
    return `src/${folder}, its ${list.length} rows together: ${detected} of ${valid} mutants detected, `
      + `${Math.round((1000 * detected) / valid) / 10}%.`;
  });
}

const stryker = arg('--stryker', process.env.STRYKER_BIN ?? join(REPO_ROOT, 'node_modules', '.bin', 'stryker'));
const folders = arg('--folders', Object.keys(FOLDERS).join(',')).split(',');
// --files src/stats/drift.ts,src/stats/paired.ts: mutate only these files of a single folder (a partial run,
// labelled as such), for when the whole folder does not fit the time at hand.
const files = process.argv.includes('--files') ? arg('--files', '').split(',').filter(Boolean) : null;
if (files && folders.length !== 1) throw new Error('--files needs exactly one --folders entry');
// --tests tests/train/fit.test.ts,tests/train/step.test.ts: run these test files (globs) instead of the folder's,
// when the tests covering a partial run live elsewhere or the folder's whole set is too slow for it.
const tests = process.argv.includes('--tests') ? arg('--tests', '').split(',').filter(Boolean) : null;
if (tests && folders.length !== 1) throw new Error('--tests needs exactly one --folders entry');
for (const f of folders) if (!FOLDERS[f]) throw new Error(`unknown folder '${f}'; one of ${Object.keys(FOLDERS).join(', ')}`);
// --incremental: reuse the results of the previous --incremental run of the same set where Stryker can (see above).
const incremental = process.argv.includes('--incremental');
const previous = join(RESULTS_DIR, 'mutation.json');
// Read again after each run: another partial run may have added its row meanwhile.
const readScores = (): Record<string, FolderScore> => (existsSync(previous) ? JSON.parse(readFileSync(previous, 'utf8')).folders : {});
let scores = readScores();
// --report-only rewrites the BENCHMARKS.md section from bench/results/mutation.json without running Stryker.
for (const f of process.argv.includes('--report-only') ? [] : folders) {
  const score = runFolder(f, stryker, files, tests ?? FOLDERS[f], incremental);
  // Read the rows again: another run of this script (another folder or file set) may have finished meanwhile.
  scores = readScores();
  for (const key of supersededKeys(scores, score)) delete scores[key];
  scores[rowKey(score)] = score;
  process.stderr.write(`${score.mutated}: mutation score ${score.score}% (${score.killed + score.timeout} of ${score.mutants - score.errors} detected)\n`);
  writeBenchResult('mutation', { folders: scores });
}
updateBenchmarksMd({
  name: 'mutation',
  title: 'Mutation score (StrykerJS)',
  intro: 'StrykerJS 9.6 (vitest runner, per-test coverage) mutates one folder at a time and runs only the tests '
    + 'named in each row (`bench/mutation.ts`, not part of `npm test`). Score = detected (killed + timed out) / valid mutants; '
    + 'mutants no test reaches count as survivors. Only folders actually run are listed.',
  columns: ['mutated', 'tests run', 'mutants', 'killed', 'timeout', 'survived', 'no coverage', 'score %', 'score on covered %', 'minutes', 'date'],
  rows: Object.values(scores).map((s) => [s.mutated ?? `src/${s.folder}`, (s.tests ?? FOLDERS[s.folder]).join(' '), s.mutants - s.errors, s.killed, s.timeout,
    s.survived, s.noCoverage, s.score, s.scoreCovered, s.minutes, s.date]),
  notes: [
    'The script prints every survivor (file:line, mutator, replacement); some cannot be killed because they are equivalent, '
      + 'e.g. `wd > 0` -> `wd >= 0` before a weight decay of 0 adds `param * 0`.',
    'A row naming files is a partial run of that folder (`--files`), for when the whole folder does not fit the time at hand.',
    'Stryker counts a timeout as detected: a mutant that loops forever, or one that makes the tests slower than the limit '
      + '(`timeoutMS` 10 s plus twice the unmutated time); killed / valid mutants is the stricter score.',
    'Folders or files not listed have not been run.',
    ...Object.values(scores).filter((s) => s.incremental).map((s) => `${s.mutated}: an incremental run (\`--incremental\`), `
      + 'reusing the previous run\'s results for mutants whose code and covering tests did not change; its minutes are the rerun\'s.'),
    ...folderTotals(scores),
  ],
});
