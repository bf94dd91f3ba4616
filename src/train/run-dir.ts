import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SwitchyardError } from '../util/errors.ts';
import type { ProgressStream } from '../util/progress.ts';
import { RUN_FILES } from './checkpoint.ts';

/**
 * Guards a run directory before a fresh (non-resumed) run writes into it: an existing run is never
 * overwritten unless `force` is set, in which case it is removed first.
 *
 * @example
 * await prepareRunDir('runs/x', { resume: false, force: false });
 */
export async function prepareRunDir(dir: string, o: { resume?: boolean; force?: boolean }): Promise<void> {
  if (o.resume) return;
  if (!existsSync(join(dir, RUN_FILES.config))) return;
  if (!o.force) {
    throw new SwitchyardError('E_RUN_EXISTS', `${dir} already holds a run (config.json)`, 'continue it with --resume, pick another --out, or replace it with --force');
  }
  await rm(dir, { recursive: true, force: true });
}

/** How one invocation of a training workflow treats its run directory, threads and progress display. */
export interface RunOptions {
  /** Continue the run in `out` from its last checkpoint, with the hyper-parameters saved in its config. */
  resume?: boolean;
  /** Replace an existing run in `out` (otherwise a fresh run refuses to overwrite one). */
  force?: boolean;
  /** Stop this invocation after this many epochs (tabular) or updates (LM); continue later with `resume`. */
  stopAfter?: number;
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
  progress?: { stream?: ProgressStream; enabled?: boolean };
}
