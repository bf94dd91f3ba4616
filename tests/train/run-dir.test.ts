import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
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

describe('stale temp directories of a killed --force run', () => {
  it('are removed when the next run starts; those of live processes are spared', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sy-rundir-'));
    const dir = join(root, 'run');
    const gone = spawnSync(process.execPath, ['-e', '']).pid; // a process that has exited
    mkdirSync(join(root, `run.tmp-${gone}`));
    writeFileSync(join(root, `run.tmp-${gone}`, 'model.safetensors'), 'partial');
    mkdirSync(join(root, `run.tmp-${process.ppid}`)); // a live process (our parent)
    mkdirSync(join(root, 'other.tmp-1')); // another output's
    await prepareRunDir(dir, {});
    expect(readdirSync(root).sort()).toEqual(['other.tmp-1', `run.tmp-${process.ppid}`]);
  });
});
