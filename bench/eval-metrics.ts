/**
 * `npm run bench -- --only evalmetrics`: every classification metric (accuracy, balanced accuracy,
 * P/R/F1 macro+micro+per class, OvR ROC-AUC and PR-AUC, log loss, top-2, Brier, ECE width/mass, MCE,
 * classwise ECE) with 1,000 seeded bootstrap resamples over 100,000 predictions of a 5-class model
 * (issue 5 target: < 10 s on this machine), plus regression metrics. scikit-learn runs the same
 * bootstrap side by side when `/usr/bin/python3` (or `python3`) can import it (fewer resamples,
 * extrapolated to 1,000).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricsWithCi } from '../src/eval/bootstrap-metrics.ts';
import { ClassificationScorer } from '../src/eval/metrics.ts';
import { RegressionScorer } from '../src/eval/metrics-regression.ts';
import { Rng } from '../src/util/rng.ts';
import { formatNumber, updateBenchmarksMd, writeBenchResult } from './report.ts';

const K = 5;

/** Seeded softmax outputs of a moderately accurate 5-class model on n examples. */
function syntheticPredictions(n: number): { labels: Int32Array; probs: Float32Array } {
  const rng = new Rng(7);
  const labels = Int32Array.from({ length: n }, () => rng.int(K));
  const probs = new Float32Array(n * K);
  const e = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < K; c++) s += e[c] = Math.exp(1.2 * rng.normal() + (c === labels[i] ? 1.5 : 0));
    for (let c = 0; c < K; c++) probs[i * K + c] = e[c] / s;
  }
  return { labels, probs };
}

const SKLEARN_PEER = `
import sys, time, numpy as np
from sklearn import metrics as M
d = np.load(sys.argv[1]); y = d['y']; p = d['p'].astype(np.float64); R = int(sys.argv[2]); n = len(y); K = p.shape[1]
rng = np.random.default_rng(0)
def allm(y, p):
    pred = p.argmax(1)
    M.accuracy_score(y, pred); M.balanced_accuracy_score(y, pred)
    M.precision_recall_fscore_support(y, pred, average='macro', zero_division=0)
    M.precision_recall_fscore_support(y, pred, average='micro', zero_division=0)
    M.precision_recall_fscore_support(y, pred, average=None, labels=range(K), zero_division=0)
    M.roc_auc_score(y, p, multi_class='ovr', labels=range(K)); Y = np.eye(K)[y]
    M.average_precision_score(Y, p, average=None); M.log_loss(y, p, labels=range(K))
    M.top_k_accuracy_score(y, p, k=2, labels=range(K)); np.mean(((p - Y) ** 2).sum(1))
    conf = p.max(1); hit = (pred == y); b = np.clip(np.ceil(conf * 10) - 1, 0, 9).astype(int)
    np.bincount(b, weights=hit, minlength=10); np.bincount(b, weights=conf, minlength=10)
t = time.perf_counter(); allm(y, p); one = time.perf_counter() - t
t = time.perf_counter()
for r in range(R):
    idx = rng.integers(0, n, n); allm(y[idx], p[idx])
print('{"seconds": %f, "resamples": %d, "single": %f}' % (time.perf_counter() - t, R, one))
`;

function findSklearnPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) if (spawnSync(py, ['-c', 'import sklearn, numpy'], { stdio: 'ignore' }).status === 0) return py;
  return null;
}

/** Runs the benchmark; `quick` uses 20,000 predictions and 100 resamples; `write: false` skips the result files. */
export async function runEvalMetricsBench(quick: boolean, log: (s: string) => void, opts: { write?: boolean } = {}): Promise<void> {
  const n = quick ? 20_000 : 100_000;
  const resamples = quick ? 100 : 1000;
  const { labels, probs } = syntheticPredictions(n);
  const classes = Array.from({ length: K }, (_, c) => `c${c}`);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const scorer = new ClassificationScorer({ labels, probs, classes });
  const prepS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const values = metricsWithCi(scorer, { resamples, seed: 1 });
  const bootS = (performance.now() - t1) / 1000;
  const totalS = prepS + bootS;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  log(`switchyard: ${values.length} classification metrics, ${resamples} resamples over ${n} predictions: ${totalS.toFixed(2)} s wall, ${cpuS.toFixed(2)} s CPU (prepare ${prepS.toFixed(2)} s)`);
  const rng = new Rng(3);
  const target = Float64Array.from({ length: n }, () => rng.normal());
  const pred = Float64Array.from(target, (y) => y + 0.3 * rng.normal());
  const t2 = performance.now();
  metricsWithCi(new RegressionScorer(pred, target), { resamples, seed: 1 });
  const regS = (performance.now() - t2) / 1000;
  log(`switchyard regression (MAE, RMSE, R²): ${regS.toFixed(2)} s`);

  let sklearn: { seconds: number; resamples: number; extrapolated: number } | null = null;
  const py = findSklearnPython();
  if (py) {
    const dir = mkdtempSync(join(tmpdir(), 'sy-bench-metrics-'));
    try {
      writeFileSync(join(dir, 'peer.py'), SKLEARN_PEER);
      const npz = join(dir, 'data.npz');
      const save = `import numpy as np, sys; y = np.frombuffer(open(sys.argv[1],'rb').read(), dtype=np.int32); p = np.frombuffer(open(sys.argv[2],'rb').read(), dtype=np.float32).reshape(-1, ${K}); np.savez(sys.argv[3], y=y, p=p)`;
      writeFileSync(join(dir, 'y.bin'), labels);
      writeFileSync(join(dir, 'p.bin'), probs);
      spawnSync(py, ['-c', save, join(dir, 'y.bin'), join(dir, 'p.bin'), npz]);
      const peerResamples = quick ? 5 : 20;
      const r = spawnSync(py, [join(dir, 'peer.py'), npz, String(peerResamples)], { encoding: 'utf8' });
      if (r.status === 0) {
        const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
        sklearn = { seconds: j.seconds, resamples: j.resamples, extrapolated: (j.seconds / j.resamples) * resamples };
        log(`scikit-learn: ${peerResamples} resamples in ${j.seconds.toFixed(2)} s → ${sklearn.extrapolated.toFixed(1)} s for ${resamples}`);
      } else log(`scikit-learn peer failed: ${r.stderr.slice(-400)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else log('scikit-learn not importable by /usr/bin/python3 or python3: peer skipped');

  if (opts.write === false) return;
  writeBenchResult('eval-metrics', { n, classes: K, resamples, metrics: values.length, prepareSeconds: prepS, bootstrapSeconds: bootS, totalSeconds: totalS, cpuSeconds: cpuS, loadAverage: (await import('node:os')).loadavg(), regressionSeconds: regS, sklearn, quick });
  updateBenchmarksMd({
    title: 'Evaluation metrics with bootstrap intervals',
    name: 'eval-metrics',
    intro: `Every classification metric of \`ClassificationScorer\` (${values.length} values: accuracy, balanced accuracy, precision/recall/F1 macro, micro and per class, one-vs-rest ROC-AUC and PR-AUC, log loss, top-2, Brier, ECE equal-width and adaptive, MCE, classwise ECE) with ${resamples} seeded bootstrap resamples over ${n.toLocaleString('en')} predictions of a ${K}-class model, on 2 threads (the caller and one worker claiming resamples from the one seeded stream, so the intervals equal the one-thread run). Resamples are multinomial counts (no copies); ranks are sorted and calibration bins laid out once, then each resample is a few gather passes.`,
    columns: ['implementation', 'seconds (all metrics + CIs)', 'note'],
    rows: [
      ['Switchyard', formatNumber(totalS), `prepare ${formatNumber(prepS)} s + bootstrap ${formatNumber(bootS)} s`],
      ['Switchyard regression (MAE, RMSE, R²)', formatNumber(regS), ''],
      ...(sklearn ? [['scikit-learn (resample + recompute)', formatNumber(sklearn.extrapolated), `${sklearn.resamples} resamples measured (${formatNumber(sklearn.seconds)} s), extrapolated`]] : [['scikit-learn', 'n/a', 'not installed for /usr/bin/python3']]),
    ],
    notes: ['Target (issue 5): all metrics with 1,000 bootstrap resamples over 100,000 predictions in under 10 s.'],
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await runEvalMetricsBench(process.argv.includes('--quick'), (s) => process.stderr.write(s + '\n'), { write: !process.argv.includes('--no-write') });
