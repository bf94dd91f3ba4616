/**
 * Datasets for `switchyard demo`: a seeded synthetic customer table whose 3-class label depends
 * nonlinearly on the features (so an MLP beats a linear model), and lookup of real datasets from the
 * `vega-datasets` npm package when it happens to be installed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SwitchyardError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { formatCsvRow, jsonRecordsToCsv } from './csv-write.ts';
import { writeFileAtomicSync as writeTextAtomic } from '../util/fs.ts';

/**
 * Column names of the synthetic demo table (`label` is the target).
 *
 * @example
 * DEMO_COLUMNS.at(-1); // 'label'
 */
export const DEMO_COLUMNS = ['customer_id', 'age', 'income', 'tenure_months', 'region', 'has_card', 'monthly_visits', 'label'] as const;

/**
 * Classes of the demo `label` column.
 *
 * @example
 * DEMO_CLASSES.length; // 3
 */
export const DEMO_CLASSES = ['bronze', 'silver', 'gold'] as const;

const REGIONS: [string, number, number][] = [
  // name, probability, effect on the silver/bronze boundary
  ['north', 0.3, 0.5],
  ['south', 0.25, -0.5],
  ['east', 0.2, 0.3],
  ['west', 0.2, -0.3],
  ['central', 0.05, 0],
];

function demoRow(rng: Rng, id: number): string[] {
  const age = Math.round(Math.min(85, Math.max(18, 42 + 12 * rng.normal())));
  const logIncome = 10.8 + 0.45 * rng.normal();
  const income = Math.round(Math.exp(logIncome) / 10) * 10;
  const tenure = Math.min(120, Math.floor(-30 * Math.log(1 - rng.next())));
  let u = rng.next();
  let region = REGIONS[REGIONS.length - 1];
  for (const r of REGIONS) {
    if (u < r[1]) {
      region = r;
      break;
    }
    u -= r[1];
  }
  const hasCard = rng.next() < 0.4;
  const visits = Math.round(Math.abs(6 + 3 * rng.normal()) * 10) / 10;

  // The label: a ring in (income, visits) space is gold; inside it, an age × tenure interaction plus
  // region and card effects separates silver from bronze. Neither boundary is linear in the inputs.
  const zi = (logIncome - 10.8) / 0.45;
  const zv = (visits - 6) / 3;
  const za = (age - 42) / 12;
  const zt = (tenure - 30) / 30;
  let label: string;
  if (zi * zi + zv * zv > 2.4) label = 'gold';
  else label = 1.5 * za * zt + region[2] + (hasCard ? 0.4 : -0.4) > 0 ? 'silver' : 'bronze';
  if (rng.next() < 0.04) label = DEMO_CLASSES[rng.int(3)];

  // A few missing values, written the ways real exports write them.
  const ageCell = rng.next() < 0.03 ? '' : String(age);
  const incomeCell = rng.next() < 0.02 ? 'NA' : String(income);
  const visitsCell = rng.next() < 0.01 ? '' : visits.toFixed(1);
  return [
    `C${String(100000 + id)}`, ageCell, incomeCell, String(tenure), region[0], hasCard ? 'yes' : 'no', visitsCell, label,
  ];
}

/**
 * Writes `train.csv` (3000 rows) and `test.csv` (1000 rows) of the synthetic demo table into `dir` and returns
 * their paths. Same seed → byte-identical files. Columns: an id, numeric columns with noise and a few missing
 * values (empty or `NA`), a categorical `region`, a yes/no `has_card`, and a 3-class `label`.
 *
 * @example
 * const { train, test } = makeDemoDataset('runs/demo', 7);
 * // switchyard train --data runs/demo/train.csv --target label
 */
export function makeDemoDataset(dir: string, seed: number, sizes: { train?: number; test?: number } = {}): { train: string; test: string } {
  const rng = new Rng(seed);
  const nTrain = sizes.train ?? 3000;
  const nTest = sizes.test ?? 1000;
  const render = (from: number, n: number): string => {
    const lines = [DEMO_COLUMNS.join(',')];
    for (let i = 0; i < n; i++) lines.push(formatCsvRow(demoRow(rng, from + i)));
    return lines.join('\n') + '\n';
  };
  const train = join(dir, 'train.csv');
  const test = join(dir, 'test.csv');
  writeTextAtomic(train, render(0, nTrain));
  writeTextAtomic(test, render(nTrain, nTest));
  return { train, test };
}

function* ancestors(start: string): Generator<string> {
  let dir = resolve(start);
  for (;;) {
    yield dir;
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/**
 * Path of a dataset file of the `vega-datasets` npm package (`node_modules/vega-datasets/data/<name>`),
 * searched from `from` (default: the working directory) and from this package upwards; `null` when the
 * package or file is absent. `name` may omit the extension (`.json`, `.csv`, `.tsv` are tried).
 * This never installs anything.
 *
 * @example
 * findVegaDataset('penguins'); // '/app/node_modules/vega-datasets/data/penguins.json' or null
 * findVegaDataset('cars.json');
 */
export function findVegaDataset(name: string, from: string = process.cwd()): string | null {
  const files = extname(name) ? [name] : [`${name}.json`, `${name}.csv`, `${name}.tsv`];
  const here = dirname(fileURLToPath(import.meta.url));
  const seen = new Set<string>();
  for (const start of [from, here]) {
    for (const dir of ancestors(start)) {
      if (seen.has(dir)) break;
      seen.add(dir);
      for (const f of files) {
        const p = join(dir, 'node_modules', 'vega-datasets', 'data', f);
        if (existsSync(p)) return p;
      }
    }
  }
  return null;
}

/**
 * Converts a vega-datasets file to a CSV at `outPath` (JSON record arrays are converted, CSV/TSV copied) and
 * returns `outPath`, or `null` when the dataset is not installed. Throws `E_DATASET` if a JSON file is not an
 * array of records.
 *
 * @example
 * const csv = writeVegaDatasetCsv('penguins', 'runs/demo/penguins.csv');
 * // switchyard train --data runs/demo/penguins.csv --target Species
 */
export function writeVegaDatasetCsv(name: string, outPath: string, from?: string): string | null {
  const src = findVegaDataset(name, from);
  if (src === null) return null;
  const text = readFileSync(src, 'utf8');
  if (extname(src) !== '.json') {
    writeTextAtomic(outPath, text);
    return outPath;
  }
  const records: unknown = JSON.parse(text);
  if (!Array.isArray(records) || !records.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))) {
    throw new SwitchyardError('E_DATASET', `${src}: not an array of JSON records`, 'pick a tabular dataset such as penguins or cars');
  }
  writeTextAtomic(outPath, jsonRecordsToCsv(records as Record<string, unknown>[]));
  return outPath;
}
