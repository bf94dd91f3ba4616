import { checkOutputs } from '../util/paths.ts';
import { TABULAR_TRAIN_RANGES } from '../train/tabular.ts';
import { COMMON_RANGES } from '../util/ranges.ts';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readFile } from 'node:fs/promises';
import { readCsv } from '../data/csv.ts';
import { formatCsvRow } from '../data/csv-write.ts';
import { makeDemoDataset, writeVegaDatasetCsv } from '../data/demo.ts';
import { runAudit } from '../audit/run.ts';
import { runEval } from '../eval/run.ts';
import { writeAuditReports } from '../report/audit-report.ts';
import { writeEvalReports } from '../report/eval-report.ts';
import { trainTabular } from '../train/tabular.ts';
import { exportTabular, predictTabular, writePredictions } from '../train/tabular-predict.ts';
import { loadTabularRun } from '../train/tabular-model.ts';
import { rawColumns } from '../train/tabular-onnx.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { Rng } from '../util/rng.ts';
import { sessionOptions } from '../runtime/session.ts';
import { COMMON_FLAGS, formatHelp, parseArgs, THREADS_FLAG } from './args.ts';
import { emitJson } from './output.ts';

const DEMO_SPEC = {
  ...COMMON_FLAGS,
  out: { type: 'string', default: 'runs/demo', valueName: 'dir', help: 'directory to write the data, the run and the exported model into' },
  dataset: { type: 'string', default: 'penguins', help: 'penguins (real, from vega-datasets) or synthetic' },
  epochs: { type: 'number', ...TABULAR_TRAIN_RANGES.epochs, default: 60, help: 'maximum epochs' },
  seed: { type: 'number', ...COMMON_RANGES.seed, default: 0, help: 'random seed' },
  threads: THREADS_FLAG,
} as const;

/** Splits a CSV file's rows 80/20 into train.csv and test.csv (seeded). */
async function splitFile(src: string, dir: string, seed: number): Promise<{ train: string; test: string }> {
  const t = await readCsv(src);
  const order = new Rng(seed).shuffle(Array.from({ length: t.rows.length }, (_, i) => i)) as number[];
  const cut = Math.round(order.length * 0.8);
  const write = async (name: string, idx: number[]) => {
    const file = join(dir, name);
    await writeFileAtomic(file, [formatCsvRow(t.columns), ...idx.map((i) => formatCsvRow(t.rows[i]))].join('\n') + '\n');
    return file;
  };
  return { train: await write('train.csv', order.slice(0, cut)), test: await write('test.csv', order.slice(cut)) };
}

/** `switchyard demo`: real data in, trained + evaluated + exported model out, in one command. */
export async function demoVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, DEMO_SPEC, 'demo');
  if (a.help) return void process.stdout.write(formatHelp('demo', 'Train, evaluate and export a classifier on real data end to end.', DEMO_SPEC)), 0;
  checkOutputs([{ flag: '--out', path: a.out, kind: 'dir' }], []);
  const dataDir = join(a.out, 'data');
  let files: { train: string; test: string };
  let target = 'label';
  let dataset = a.dataset;
  const penguins = dataset === 'penguins' ? writeVegaDatasetCsv('penguins', join(dataDir, 'penguins.csv')) : null;
  if (penguins) {
    files = await splitFile(penguins, dataDir, a.seed);
    target = 'Species';
  } else {
    dataset = 'synthetic';
    files = makeDemoDataset(dataDir, a.seed);
  }
  const say = (s: string) => void (a.json || a.quiet || process.stderr.write(s + '\n'));
  if (a.dataset === 'penguins' && !penguins) say('vega-datasets is not installed: synthetic data instead (npm install vega-datasets)');
  say(`switchyard demo: ${dataset} data -> ${files.train} (train), ${files.test} (test); target '${target}'`);
  // Audit before training: the data is checked with the same readers the trainer uses.
  const audit = await runAudit({ data: files.train, test: files.test, target, seed: a.seed, labelIssueOptions: { threads: a.threads }, progress: { enabled: false } });
  const auditFiles = await writeAuditReports(join(a.out, 'audit'), audit);
  const runDir = join(a.out, 'run');
  const summary = await trainTabular({ data: files.train, target, out: runDir, force: true, epochs: a.epochs, seed: a.seed, hidden: [32, 32], batchSize: 32, lr: 0.01, patience: 10, threads: a.threads, progress: { enabled: !a.quiet && !a.json } });
  const preds = await predictTabular(runDir, files.test, { threads: a.threads });
  const test = await readCsv(files.test);
  const col = test.columns.indexOf(target);
  const correct = test.rows.filter((r, i) => r[col].trim() === String(preds.predictions[i])).length;
  const predFile = join(a.out, 'test-predictions.csv');
  await writePredictions(predFile, preds);
  const onnxFile = join(a.out, 'model.onnx');
  await exportTabular(runDir, onnxFile);
  // Check the export: onnxruntime on the exported file, fed the raw test columns, gives predict's labels and probabilities.
  const { enc } = await loadTabularRun(runDir);
  const session = await ort.InferenceSession.create(await readFile(onnxFile), sessionOptions({ threads: a.threads }));
  const feeds = Object.fromEntries(Object.entries(rawColumns(enc, test)).map(([k, v]) => [k, new ort.Tensor(v.type, v.data, [test.rows.length, 1])]));
  const res = await session.run(feeds);
  const probs = res.probabilities.data as Float32Array;
  let maxDiff = 0;
  for (let i = 0; i < probs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(probs[i] - preds.probabilities![i]));
  const labelsAgree = (res.label.data as string[]).every((l, i) => l === preds.predictions[i]);
  await session.release();
  // Evaluate beyond accuracy: bootstrap intervals, calibration, corruptions and out-of-distribution detection.
  const evaluation = await runEval({ model: runDir, data: files.test, resamples: 200, seed: a.seed, threads: a.threads, progress: { enabled: false } });
  const evalFiles = await writeEvalReports(join(a.out, 'eval'), evaluation);
  const acc = evaluation.scores?.overall.accuracy;
  const ece = evaluation.scores?.overall.ece;
  const result = {
    ok: true,
    dataset,
    target,
    rows: summary.rows,
    epochs: summary.epochs,
    validAccuracy: summary.valid.accuracy,
    testAccuracy: correct / test.rows.length,
    examplesPerSecond: Math.round(summary.examplesPerSecond),
    run: runDir,
    predictions: predFile,
    onnx: onnxFile,
    onnxMaxAbsDiff: maxDiff,
    onnxLabelsAgree: labelsAgree,
    audit: { summary: audit.summary, report: auditFiles.html },
    eval: { accuracy: acc ?? null, ece: ece ?? null, report: evalFiles.html },
  };
  if (a.json) emitJson(result);
  else {
    process.stdout.write(`audit before training: ${audit.summary.error} errors, ${audit.summary.warn} warnings, ${audit.summary.info} notes -> ${auditFiles.html}\n`);
    process.stdout.write(`trained on ${summary.rows.train} rows (${summary.epochs} epochs, ${result.examplesPerSecond} examples/s); validation accuracy ${((summary.valid.accuracy ?? 0) * 100).toFixed(1)}%\n`);
    process.stdout.write(`test accuracy ${(result.testAccuracy * 100).toFixed(1)}% on ${test.rows.length} held-out rows -> ${predFile}\n`);
    process.stdout.write(`exported ${onnxFile}; from the raw columns onnxruntime reproduces predict's ${labelsAgree ? 'labels and ' : ''}probabilities (max abs diff ${maxDiff.toExponential(1)})\n`);
    if (acc) process.stdout.write(`eval: accuracy ${(acc.estimate * 100).toFixed(1)}% (95% CI ${(acc.low * 100).toFixed(1)}-${(acc.high * 100).toFixed(1)})${ece ? `, ECE ${ece.estimate.toFixed(3)}` : ''} -> ${evalFiles.html}\n`);

  }
  return 0;
}
