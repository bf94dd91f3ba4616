/** Fixtures of the registry tests: one small real training run (penguins, with its ONNX export). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportTabular } from '../../src/train/tabular-predict.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { writeManifest } from '../../src/util/fs.ts';
import { vegaCsv } from '../cli/helpers.ts';

/**
 * A real `switchyard train` run on penguins (tiny MLP, 1 epoch) with `model.onnx` exported into it and recorded
 * in the run's manifest (a run loads only the files its manifest lists).
 */
export async function penguinsRun(): Promise<{ run: string; data: string; onnx: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-reg-run-'));
  const data = vegaCsv('penguins', dir);
  const run = join(dir, 'run');
  await trainTabular({ data, target: 'Species', out: run, epochs: 1, hidden: [4], seed: 0, progress: { enabled: false }, threads: 1 });
  const onnx = join(run, 'model.onnx');
  await exportTabular(run, onnx);
  await writeManifest(run);
  return { run, data, onnx };
}
