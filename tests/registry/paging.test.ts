/** Paged reads of the registry (the dashboard's version and history lists) on every backend. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openRegistry, type Registry } from '../../src/registry/registry.ts';
import { BACKENDS, freshLocation } from '../pg.ts';
import { penguinsRun } from './fixtures.ts';

let fx: Awaited<ReturnType<typeof penguinsRun>>;
const work = mkdtempSync(join(tmpdir(), 'sy-reg-paging-'));
beforeAll(async () => {
  fx = await penguinsRun();
});

describe.each(BACKENDS)('registry pages on %s', (backend) => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await openRegistry(await freshLocation(backend), { cacheDir: mkdtempSync(join(work, 'cache-')) });
    for (let i = 0; i < 7; i++) await reg.register({ name: 'penguins', from: fx.run, reason: `v${i + 1}` });
    await reg.register({ name: 'other', from: fx.run });
    for (const v of [2, 5, 3]) await reg.setAlias('penguins', 'production', v, { reason: `to ${v}` });
  });
  afterAll(async () => reg?.close());

  test('versions come newest first, a page at a time, each with its own artefacts', async () => {
    const all = await reg.list('penguins');
    expect(all.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const page = await reg.list('penguins', { offset: 2, limit: 3 });
    expect(page.map((v) => v.version)).toEqual([5, 4, 3]);
    for (const v of page) expect(v.artefacts).toEqual(all[v.version - 1].artefacts);
    expect((await reg.list('penguins', { offset: 6, limit: 3 })).map((v) => v.version)).toEqual([1]);
    expect(await reg.list('penguins', { offset: 7, limit: 3 })).toEqual([]);
  });

  test('history pages are newest first and counts and models agree with the full lists', async () => {
    const full = await reg.history('penguins');
    const page = await reg.history('penguins', { offset: 0, limit: 2 });
    expect(page.map((e) => e.reason)).toEqual(['to 3', 'to 5']);
    expect(page).toEqual(full.slice(-2).reverse());
    expect(await reg.counts('penguins')).toEqual({ versions: 7, history: full.length, latest: 7 });
    expect(await reg.counts('other')).toMatchObject({ versions: 1, latest: 1 });
    expect(await reg.models()).toEqual(['other', 'penguins']);
  });
});
