import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SwitchyardError } from '../util/errors.ts';
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
