/**
 * `npm run bench -- --only evalpgd`: PGD-10 over 10,000 tabular examples (issue 5 target: < 30 s on this
 * machine). A 20-feature, 3-class MLP (64-64) is trained on synthetic data first; then the whole K-step
 * attack runs as one compiled ONNX Loop graph over the array. Reports seconds per attack (L-inf and L2),
 * the compile time, and robust accuracy.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fgsm, PgdAttack, attackSurface } from '../src/eval/adversarial.ts';
import { loadEvalModel, type TabularEvalModel } from '../src/eval/model.ts';
import { readCsv } from '../src/data/csv.ts';
import { trainTabular } from '../src/train/tabular.ts';
import { Rng } from '../src/util/rng.ts';
import { formatNumber, updateBenchmarksMd, writeBenchResult } from './report.ts';

const F = 20;
const ROWS = 10_000;

/** Rows of one fixed linear 3-class task (weights from seed 0) with inputs drawn from `seed`. */
function syntheticCsv(rows: number, seed: number): string {
  const wr = new Rng(0);
  const w = Array.from({ length: 3 }, () => Array.from({ length: F }, () => wr.normal()));
  const rng = new Rng(seed);
  const lines = [[...Array.from({ length: F }, (_, j) => `x${j}`), 'label'].join(',')];
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: F }, () => rng.normal());
    const z = w.map((wc) => wc.reduce((a, v, j) => a + v * x[j], 0) + rng.normal());
    lines.push([...x.map((v) => v.toFixed(4)), `c${z.indexOf(Math.max(...z))}`].join(','));
  }
  return lines.join('\n') + '\n';
}

/**
 * Runs the benchmark; `quick` trains for fewer epochs (the attack itself is the same size); `write: false` skips the result files.
 *
 * @example
 * await runEvalPgdBench(true, console.error, { write: false });
 */
export async function runEvalPgdBench(quick: boolean, log: (s: string) => void, opts: { write?: boolean } = {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-pgd-'));
  try {
    writeFileSync(join(dir, 'train.csv'), syntheticCsv(ROWS, 1));
    writeFileSync(join(dir, 'test.csv'), syntheticCsv(ROWS, 2));
    await trainTabular({ data: join(dir, 'train.csv'), target: 'label', out: join(dir, 'run'), epochs: quick ? 2 : 8, progress: { enabled: false } });
    const model = (await loadEvalModel(join(dir, 'run'))) as TabularEvalModel;
    const test = model.encode(await readCsv(join(dir, 'test.csv')));
    const y = test.y as Int32Array;
    const surface = attackSurface(model.encoder!.specs, test.x, test.rows);
    const acc = (p: Int32Array) => p.reduce((a, v, i) => a + (v === y[i] ? 1 : 0), 0) / test.rows;
    const rows: (string | number)[][] = [];
    const results: Record<string, unknown>[] = [];
    for (const norm of ['linf', 'l2'] as const) {
      const t0 = performance.now();
      const pgd = await PgdAttack.compile(model, norm);
      const compileS = (performance.now() - t0) / 1000;
      const eps = norm === 'linf' ? 0.1 : 0.1 * Math.sqrt(F);
      const clean = await fgsm(pgd, test.x, y, test.rows, 0, surface);
      const times: number[] = [];
      let robust = NaN;
      for (let rep = 0; rep < (quick ? 1 : 3); rep++) {
        const t1 = performance.now();
        const r = await pgd.run(test.x, y, test.rows, { norm, eps, steps: 10, randomStart: true, seed: rep, surface });
        times.push((performance.now() - t1) / 1000);
        robust = acc(r.predictions);
      }
      await pgd.release();
      const seconds = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
      log(`PGD-10 ${norm} eps ${eps.toFixed(3)} over ${test.rows} rows: ${seconds.toFixed(3)} s (compile ${compileS.toFixed(2)} s); accuracy ${acc(clean.predictions).toFixed(3)} -> ${robust.toFixed(3)}`);
      results.push({ norm, eps, steps: 10, rows: test.rows, seconds, compileSeconds: compileS, cleanAccuracy: acc(clean.predictions), robustAccuracy: robust });
      rows.push([norm === 'linf' ? 'L∞' : 'L2', formatNumber(eps), formatNumber(seconds), formatNumber((test.rows * 10) / seconds), formatNumber(compileS), `${(acc(clean.predictions) * 100).toFixed(1)}%`, `${(robust * 100).toFixed(1)}%`]);
    }
    await model.release();
    if (opts.write === false) return;
    writeBenchResult('eval-pgd', { features: F, hidden: [64, 64], classes: 3, quick, results });
    updateBenchmarksMd({
      title: 'PGD-10 adversarial evaluation (10,000 tabular rows)',
      name: 'eval-pgd',
      intro: `PGD with 10 steps and a random start over 10,000 rows of a ${F}-feature, 3-class MLP (64-64, ReLU) trained on synthetic data; the whole attack (forward, engine gradient wrt the input, step, projection, clipping to the reference range) is one ONNX Loop graph, run over the whole array in one call. Time = median attack run after compilation.`,
      columns: ['norm', 'epsilon', 'seconds', 'example-steps/s', 'compile s', 'clean accuracy', 'robust accuracy'],
      rows,
      notes: ['Target (issue 5): PGD-10 over 10,000 tabular examples in under 30 s on this machine.'],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
