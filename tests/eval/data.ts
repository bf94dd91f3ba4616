/** Labelled tabular data made by the tests: 3 numeric features, a region, a 3-class label that depends on them. */
import { writeFileSync } from 'node:fs';
import { Rng } from '../../src/util/rng.ts';

/** CSV text of `n` rows (`a,b,c,region,label`), seeded; `shift` moves feature a. */
export function tabularCsv(n: number, seed: number, shift = 0): string {
  const rng = new Rng(seed);
  const out = ['a,b,c,region,label'];
  for (let i = 0; i < n; i++) {
    const a = rng.normal() + shift;
    const b = rng.normal();
    const c = rng.normal();
    const region = ['north', 'south'][rng.int(2)];
    const z = 1.5 * a - b + (region === 'north' ? 0.5 : -0.5) + 0.3 * rng.normal();
    out.push(`${a.toFixed(3)},${b.toFixed(3)},${c.toFixed(3)},${region},${z > 0.3 ? 'yes' : z < -0.8 ? 'no' : 'maybe'}`);
  }
  return out.join('\n') + '\n';
}

/** Writes train/valid/test CSVs into `dir`; returns their paths. */
export function writeSplits(dir: string): { train: string; valid: string; test: string } {
  const p = { train: `${dir}/train.csv`, valid: `${dir}/valid.csv`, test: `${dir}/test.csv` };
  writeFileSync(p.train, tabularCsv(600, 1));
  writeFileSync(p.valid, tabularCsv(200, 2));
  writeFileSync(p.test, tabularCsv(300, 3));
  return p;
}
