/**
 * Temperature scaling stored with the model: fitted on a labelled validation file (the metrics helper's
 * fitTemperature), written atomically as `calibration.json` into the run directory (and the run's
 * manifest refreshed), or next to an ONNX file as `<file>.calibration.json`; read back on later evaluations.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readTable } from '../data/readers/index.ts';
import { addToManifest, writeJsonAtomic } from '../util/fs.ts';
import { SwitchyardError } from '../util/errors.ts';
import { fitTemperature } from './calibration.ts';
import type { TabularEvalModel } from './model.ts';

/**
 * The temperature in use and where it came from, with the validation NLL before and after.
 *
 * @example
 * const c: CalibrationResult = { temperature: 1.7, fittedOn: 'valid.csv', rows: 200, nllBefore: 0.61, nllAfter: 0.48, stored: 'runs/x/calibration.json', fittedNow: true };
 */
export interface CalibrationResult {
  temperature: number;
  fittedOn: string;
  rows: number;
  nllBefore: number;
  nllAfter: number;
  /** The file holding it. */
  stored: string;
  /** True when fitted by this evaluation (false: read from an earlier one). */
  fittedNow: boolean;
}

/**
 * Where a model's calibration lives: `<run>/calibration.json`, or `<file>.calibration.json` for an ONNX file.
 *
 * @example
 * calibrationPath('runs/x'); // 'runs/x/calibration.json'
 */
export function calibrationPath(source: string): string {
  return existsSync(source) && statSync(source).isDirectory() ? join(source, 'calibration.json') : `${source}.calibration.json`;
}

/**
 * Fits a temperature on `validFile` and stores it with the model, or reads a stored one; undefined when
 * neither exists.
 *
 * @example
 * const cal = await calibrate(model, 'valid.csv');
 */
export async function calibrate(model: TabularEvalModel, validFile?: string): Promise<CalibrationResult | undefined> {
  const file = calibrationPath(model.source);
  if (!validFile) {
    if (!existsSync(file)) return undefined;
    const saved = JSON.parse(await readFile(file, 'utf8')) as Omit<CalibrationResult, 'stored' | 'fittedNow'>;
    if (!(saved.temperature > 0)) throw new SwitchyardError('E_CONFIG', `${file}: temperature ${saved.temperature} is not positive`, 'delete the file and refit with --calibrate-on');
    return { ...saved, stored: file, fittedNow: false };
  }
  const d = model.encode(await readTable(validFile));
  if (!d.y) throw new SwitchyardError('E_CSV_COLUMN', `${validFile}: no column '${model.target}' to fit the temperature on`, `add the labels in '${model.target}'`);
  const out = await model.predict(d.x, d.rows);
  const fit = fitTemperature(out.logits, d.y as Int32Array, model.classes.length);
  const result = { temperature: fit.temperature, fittedOn: validFile, rows: d.rows, nllBefore: fit.nllBefore, nllAfter: fit.nllAfter };
  await writeJsonAtomic(file, { format: 'switchyard.calibration', version: 1, method: 'temperature', ...result, created: new Date().toISOString() });
  // Only the new file joins the manifest: rewriting it whole would also take in files planted beside the run.
  if (model.kind === 'tabular' && existsSync(join(model.source, 'manifest.json'))) await addToManifest(model.source, ['calibration.json']);
  return { ...result, stored: file, fittedNow: true };
}
