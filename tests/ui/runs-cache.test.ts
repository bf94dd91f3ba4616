/**
 * The runs table's cache: with one `RunsCache` kept between calls, `listRuns` answers exactly what a fresh read
 * answers after every kind of change to a run — lines appended (also half a line, completed later), the file
 * replaced by a shorter one or rewritten in place at the same size, a config rewritten or broken, a manifest
 * written, a run added or removed.
 */
import { appendFileSync, mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listRuns } from '../../src/ui/runs.ts';
import { RunsCache } from '../../src/ui/runs-cache.ts';
import { tmp } from '../cli/helpers.ts';

const root = tmp('sy-ui-cache-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const line = (epoch: number, validLoss: number) => JSON.stringify({ epoch, trainLoss: validLoss + 0.1, validLoss }) + '\n';

function makeRun(id: string, lines: string): string {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ kind: 'tabular-mlp' }));
  writeFileSync(join(dir, 'metrics.jsonl'), lines);
  return dir;
}

describe('listRuns with a RunsCache', () => {
  it('matches a fresh read after appends, partial lines, replacements, in-place rewrites and config changes', async () => {
    const cache = new RunsCache();
    const same = async (what: string) => expect(await listRuns(root, cache), what).toEqual(await listRuns(root));
    const a = makeRun('a', line(1, 0.9) + line(2, 0.7));
    makeRun('b', '');
    await same('first read');
    expect((await listRuns(root, cache))[0]).toMatchObject({ id: 'a', steps: 2, bestValue: 0.7 });

    appendFileSync(join(a, 'metrics.jsonl'), line(3, 0.5));
    await same('one line appended');
    expect((await listRuns(root, cache))[0]).toMatchObject({ steps: 3, bestValue: 0.5 });

    const half = line(4, 0.3);
    appendFileSync(join(a, 'metrics.jsonl'), half.slice(0, 12));
    await same('half a line appended');
    expect((await listRuns(root, cache))[0]).toMatchObject({ steps: 3, bestValue: 0.5 });
    appendFileSync(join(a, 'metrics.jsonl'), half.slice(12));
    await same('the line completed');
    expect((await listRuns(root, cache))[0]).toMatchObject({ steps: 4, bestValue: 0.3 });

    // A resumed run's file replaced atomically by a shorter one (new inode).
    writeFileSync(join(a, 'metrics.tmp'), line(1, 0.8));
    renameSync(join(a, 'metrics.tmp'), join(a, 'metrics.jsonl'));
    await same('file replaced');
    expect((await listRuns(root, cache))[0]).toMatchObject({ steps: 1, bestValue: 0.8 });

    // Rewritten in place, same size, later mtime.
    writeFileSync(join(a, 'metrics.jsonl'), line(1, 0.6));
    utimesSync(join(a, 'metrics.jsonl'), new Date(), new Date(Date.now() + 5000));
    await same('rewritten in place at the same size');
    expect((await listRuns(root, cache))[0]).toMatchObject({ bestValue: 0.6 });

    writeFileSync(join(a, 'config.json'), JSON.stringify({ kind: 'gpt', extra: 1 }));
    await same('config rewritten');
    expect((await listRuns(root, cache))[0].kind).toBe('gpt');
    writeFileSync(join(a, 'config.json'), '{ broken');
    await same('config broken');
    expect((await listRuns(root, cache))[0].status).toBe('damaged');

    writeFileSync(join(root, 'b', 'manifest.json'), '{}');
    makeRun('c', line(7, 0.1));
    await same('manifest written, run added');
    expect((await listRuns(root, cache)).map((r) => [r.id, r.status])).toEqual([['a', 'damaged'], ['b', 'finished'], ['c', 'running']]);
    rmSync(join(root, 'c'), { recursive: true });
    await same('run removed');
  });
});
