import { afterAll, describe, expect, it } from 'vitest';
import { checkBias } from '../../src/audit/bias.ts';
import type { AuditContext } from '../../src/audit/context.ts';
import { checkFeatureDrift } from '../../src/audit/feature-drift.ts';
import { checkImbalance, checkLabelDrift } from '../../src/audit/labels.ts';
import { Rng } from '../../src/util/rng.ts';
import { cleanRows, COLUMNS, contextFor, tmpDir, writeCsv } from './audit-data.ts';

const dir = tmpDir();
const open: AuditContext[] = [];
afterAll(() => open.forEach((c) => c.db.close()));
async function ctxOf(train: string[][], test?: string[][], extra: Partial<AuditContext> = {}) {
  const n = open.length;
  const ctx = await contextFor(writeCsv(dir, `tr${n}.csv`, COLUMNS, train), test ? writeCsv(dir, `te${n}.csv`, COLUMNS, test) : undefined, { target: 'label', ...extra });
  open.push(ctx);
  return ctx;
}

describe('labels', () => {
  it('stay quiet on balanced labels drawn from one distribution', async () => {
    const ctx = await ctxOf(cleanRows(2000, 1), cleanRows(600, 2));
    expect(await checkImbalance(ctx.db, ctx)).toEqual([]);
    expect(await checkLabelDrift(ctx.db, ctx)).toEqual([]);
  });

  it('find imbalance, a rare class, label drift and a class unseen in train', async () => {
    const train = cleanRows(2000, 1).map((r, i) => [...r.slice(0, 5), i % 20 === 0 ? 'good' : i === 7 ? 'odd' : 'bad']);
    const test = cleanRows(600, 2).map((r, i) => [...r.slice(0, 5), i % 2 ? 'good' : i === 4 ? 'new' : 'bad']);
    const ctx = await ctxOf(train, test);
    const imb = await checkImbalance(ctx.db, ctx);
    expect(imb.find((f) => f.check === 'labels.imbalance')!.severity).toBe('warn');
    expect(imb.find((f) => f.check === 'labels.rare-class')!.evidence.values).toEqual(['odd']);
    const drift = await checkLabelDrift(ctx.db, ctx);
    expect(drift.find((f) => f.check === 'labels.unseen-class')!.evidence.values).toEqual(['new']);
    const d = drift.find((f) => f.check === 'labels.drift')!;
    expect(d.details!.pValue as number).toBeLessThan(1e-6);
    expect(d.details!.test).toBe('chi-square');
  });
});

describe('feature drift', () => {
  it('stays quiet when both splits come from one distribution', async () => {
    const ctx = await ctxOf(cleanRows(2000, 1), cleanRows(800, 2));
    expect(await checkFeatureDrift(ctx.db, ctx)).toEqual([]);
  });

  it('finds a shifted numeric column (KS) and a re-mixed categorical one (chi-square + JS)', async () => {
    const test = cleanRows(800, 2).map((r, i) => [(Number(r[0]) + 8).toFixed(2), r[1], i % 10 < 7 ? 'red' : r[2], ...r.slice(3)]);
    const ctx = await ctxOf(cleanRows(2000, 1), test);
    const f = await checkFeatureDrift(ctx.db, ctx);
    expect(f.map((x) => x.column).sort()).toEqual(['age', 'color']);
    const age = f.find((x) => x.column === 'age')!;
    expect(age.details!.test).toBe('ks');
    expect(age.details!.statistic as number).toBeGreaterThan(0.2);
    expect(f.find((x) => x.column === 'color')!.details!.jensenShannon as number).toBeGreaterThan(0.1);
  });
});

describe('bias', () => {
  it('reports groups but no problem when base rates, sizes and missingness match', async () => {
    const ctx = await ctxOf(cleanRows(2000, 1), undefined, { sensitive: ['sex'] });
    const f = await checkBias(ctx.db, ctx);
    expect(f.map((x) => x.check)).toEqual(['bias.groups']);
    expect(f[0].severity).toBe('info');
    const groups = f[0].details!.groups as { group: string; count: number; baseRate: number; missingRate: number }[];
    expect(groups.map((g) => g.group).sort()).toEqual(['F', 'M']);
    expect(groups.reduce((a, g) => a + g.count, 0)).toBe(2000);
  });

  it('finds disparate impact, a tiny group and unequal missingness', async () => {
    const rng = new Rng(3);
    const rows = cleanRows(2000, 1).map((r, i) => {
      const sex = i < 5 ? 'X' : r[4];
      const good = rng.next() < (sex === 'F' ? 0.15 : 0.5);
      const income = sex === 'F' && rng.next() < 0.3 ? '' : r[1];
      return [r[0], income, r[2], r[3], sex, good ? 'good' : 'bad'];
    });
    const ctx = await ctxOf(rows, undefined, { sensitive: ['sex'], positive: 'good' });
    const f = await checkBias(ctx.db, ctx);
    const di = f.find((x) => x.check === 'bias.disparate-impact')!;
    expect(di.details!.ratio as number).toBeLessThan(0.5);
    expect(di.severity).toBe('error');
    expect(f.find((x) => x.check === 'bias.group-size')!.evidence.values).toEqual(['X']);
    const miss = f.find((x) => x.check === 'bias.missingness')!;
    expect(miss.evidence.values![0]).toBe('F');
    const groups = f.find((x) => x.check === 'bias.groups')!.details!.groups as { group: string; baseRate: number }[];
    expect(groups.find((g) => g.group === 'F')!.baseRate).toBeCloseTo(0.15, 1);
  });
});
