import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareRunDir } from '../../src/train/run-dir.ts';

describe('prepareRunDir', () => {
  it('refuses --resume with --force for library callers too, before touching the directory', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sy-rundir-')), 'run');
    await expect(prepareRunDir(dir, { resume: true, force: true })).rejects.toMatchObject({
      code: 'E_USAGE',
      message: expect.stringContaining('--resume and --force together'),
    });
    expect(readdirSync(join(dir, '..'))).toEqual([]);
  });

  it('writes a new run in place', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sy-rundir-')), 'run');
    await expect(prepareRunDir(dir, { force: true })).resolves.toEqual({ work: dir, out: dir, replace: false });
  });
});
