/**
 * The package as a user installs it: `npm pack` of this checkout, installed into a fresh project outside the
 * repository (no optional package, no tsx, no TypeScript sources), then used from a plain `.mjs`, type-checked
 * by a strict NodeNext consumer, and driven through its `switchyard` bin: under this Node and under Node 22 and
 * 24 (binaries of the npm registry's `node` package; onnxruntime-node is N-API, so one install serves all).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTIONAL_PACKAGES } from '../../src/util/optional.ts';
import { installedPackages, installTarball, nodeBinary, packTarball, ROOT } from './install.ts';

const devDependencies = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies;
const TYPES_NODE = `@types/node@${devDependencies['@types/node']}`;
const NODES: [string, () => string][] = [
  [process.version, () => process.execPath],
  ['22', () => nodeBinary(22)],
  ['24', () => nodeBinary(24)],
];

let work = '';
let app = '';
let tarball = '';

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sy-consumer-'));
  tarball = packTarball(work);
  app = join(work, 'app');
  installTarball(tarball, app, [TYPES_NODE]);
  // A tiny CSV: two numeric columns, one categorical, a label that depends on them.
  const rows = ['x1,x2,colour,label'];
  for (let i = 0; i < 80; i++) {
    const x1 = ((i * 37) % 100) / 50 - 1;
    const x2 = ((i * 61) % 100) / 50 - 1;
    rows.push(`${x1.toFixed(2)},${x2.toFixed(2)},${['red', 'green', 'blue'][i % 3]},${x1 + x2 > 0 ? 'yes' : 'no'}`);
  }
  writeFileSync(join(app, 'data.csv'), rows.join('\n') + '\n');
}, 420_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs `node` (a path) on `args` in the consumer project. */
function run(node: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const env = { ...process.env, FORCE_COLOR: '0' };
  const r = spawnSync(node, args, { cwd: app, encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop() ?? 'null');

describe('the packed package', () => {
  it('ships the build, the bin, the reference weights, the docs, README and LICENSE; no tests, benches or sources', () => {
    const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    const files = listing.map((f) => f.replace(/^package\//, ''));
    const top = new Set(files.map((f) => f.split('/')[0]));
    expect([...top].sort()).toEqual(['LICENSE', 'README.md', 'assets', 'bin', 'dist', 'docs', 'package.json']);
    // `sample --fid` reads the shipped reference classifier (dist/eval/reference-classifier.js finds ../../assets).
    expect(files.filter((f) => f.startsWith('assets/')).sort())
      .toEqual(['assets/reference/mnist-classifier.json', 'assets/reference/mnist-classifier.safetensors']);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/index.d.ts.map');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('installs without any optional package, tsx or TypeScript', () => {
    const installed = installedPackages(app);
    for (const name of [...Object.keys(OPTIONAL_PACKAGES), 'tsx', 'typescript']) expect(installed).not.toContain(name);
    expect(installed).toContain('onnxruntime-node');
  });

  it('type-checks a strict NodeNext consumer (no skipLibCheck, no allowImportingTsExtensions)', () => {
    const dir = join(app, 'ts');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(ROOT, 'examples/tour.ts'), join(dir, 'tour.ts'));
    writeFileSync(join(dir, 'subpaths.ts'), [
      "import { Linear, type Module } from 'switchyard/nn';",
      "import { adamw } from 'switchyard/optim';",
      "import { SwitchyardError, readTable } from 'switchyard';",
      "import type { Table } from 'switchyard/data';",
      'const layer: Module = new Linear(2, 3);',
      'const table: Promise<Table> = readTable("data.csv");',
      'export const parts = [layer, adamw({ weightDecay: 0.01 }), table, SwitchyardError] as const;',
      '',
    ].join('\n'));
    const compilerOptions = {
      strict: true,
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      target: 'ES2022',
      noEmit: true,
      types: ['node'],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }, null, 2));
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe.each(NODES)('installed, under Node %s', (_version, node) => {
  it('a plain .mjs imports it, reads a CSV, trains a model, bootstraps on a worker; Parquet names its package', () => {
    writeFileSync(join(app, 'use.mjs'), `
import { writeFileSync } from 'node:fs';
import { ClassificationScorer, fit, readTable, SwitchyardError } from 'switchyard';
const t = await readTable('data.csv');
const col = (name) => t.columns.indexOf(name);
const x = Float32Array.from(t.rows.flatMap((r) => [Number(r[col('x1')]), Number(r[col('x2')])]));
const y = Int32Array.from(t.rows, (r) => (r[col('label')] === 'yes' ? 1 : 0));
const m = await fit({ x, y, features: 2, classes: 2, hidden: [8], epochs: 30, batchSize: 16, lr: 0.05, seed: 1 });
const pred = await m.predict(x);
const accuracy = pred.filter((p, i) => p === y[i]).length / y.length;
// Bootstrap intervals on a worker thread: the worker loads its module from dist/ with no TypeScript loader.
const probs = await m.predictProba(x);
await m.release();
const scorer = new ClassificationScorer({ labels: y, probs, classes: ['no', 'yes'] });
const worker = new URL('./node_modules/switchyard/dist/eval/bootstrap-worker.js', import.meta.url);
const { parallelBootstrapSamples } = await import(worker);
const { workerResamples } = parallelBootstrapSamples(scorer, { resamples: 3000, seed: 1 }, 2, true);
let parquet = null;
writeFileSync('data.parquet', 'PAR1');
try {
  await readTable('data.parquet');
} catch (e) {
  parquet = e instanceof SwitchyardError ? { code: e.code, hint: e.hint } : String(e);
}
const [first, last] = [m.history[0], m.history.at(-1)];
console.log(JSON.stringify({ rows: t.rows.length, first, last, accuracy, workerResamples, parquet }));
`);
    const r = run(node(), ['use.mjs']);
    expect(r.stderr).toBe('');
    const out = lastJson(r.stdout);
    expect(out.rows).toBe(80);
    expect(out.last).toBeLessThan(out.first);
    expect(out.accuracy).toBeGreaterThan(0.8);
    expect(out.workerResamples).toBeGreaterThan(0);
    expect(out.parquet).toEqual({ code: 'E_MISSING_PACKAGE', hint: 'npm install @duckdb/node-api' });
  });

  it('the switchyard bin trains, predicts and exports on a CSV; serve and registry name their packages', () => {
    const bin = join(app, 'node_modules/.bin/switchyard');
    const out = mkdtempSync(join(work, 'run-'));
    const runDir = join(out, 'run');
    const sy = (...args: string[]) => run(node(), [bin, ...args]);
    const help = sy('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: switchyard <verb>');
    const train = sy('train', '--data', 'data.csv', '--target', 'label', '--out', runDir, '--epochs', '5', '--json');
    expect(train.code, train.stderr).toBe(0);
    expect(lastJson(train.stdout).classes).toEqual(['no', 'yes']);
    const predict = sy('predict', '--model', runDir, '--data', 'data.csv', '--out', join(out, 'p.csv'), '--json');
    expect(predict.code, predict.stderr).toBe(0);
    expect(readFileSync(join(out, 'p.csv'), 'utf8').trim().split('\n')).toHaveLength(81);
    const exp = sy('export', '--model', runDir, '--out', join(out, 'model.onnx'), '--json');
    expect(exp.code, exp.stderr).toBe(0);
    expect(readFileSync(join(out, 'model.onnx')).length).toBeGreaterThan(100);
    const serve = sy('serve', '--model', runDir, '--port', '0');
    expect(serve.code).toBe(2);
    expect(serve.stderr).toContain('hint: npm install fastify');
    const registry = sy('registry', 'register', '--name', 'm', '--from', runDir, '--registry', join(out, 'registry'));
    expect(registry.code).toBe(2);
    expect(registry.stderr).toContain('hint: npm install better-sqlite3');
  });
});
