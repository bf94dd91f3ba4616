/**
 * warmupCosine pinned to closed forms: linear warm-up, then torch.optim.lr_scheduler.CosineAnnealingLR's
 * eta_t = eta_min + (eta_max - eta_min)·(1 + cos(pi·T_cur / T_max)) / 2 with T_cur = step - warmup and
 * T_max = total - warmup (PyTorch docs, "CosineAnnealingLR"), checked at middling steps where a wrong floor,
 * phase or period shows, not only at the ends.
 */
import { describe, expect, it } from 'vitest';
import { constantLr, warmupCosine } from '../../src/optim/schedule.ts';
import { expectCode } from '../expect-error.ts';

const torchCosine = (etaMax: number, etaMin: number, tCur: number, tMax: number) => etaMin + ((etaMax - etaMin) * (1 + Math.cos((Math.PI * tCur) / tMax))) / 2;

describe('warmupCosine', () => {
  const lr = 0.3;
  const minLr = 0.03;
  // Built inside each test: a schedule that throws must fail a test, not the file's collection.
  const schedule = () => warmupCosine({ lr, warmup: 10, total: 110, minLr });

  it('warms up linearly: step s gives lr·(s+1)/(warmup+1)', () => {
    const at = schedule();
    expect(at(0)).toBeCloseTo(lr / 11, 15);
    expect(at(4)).toBeCloseTo((lr * 5) / 11, 15);
    expect(at(9)).toBeCloseTo((lr * 10) / 11, 15);
    for (let s = 1; s < 10; s++) expect(at(s) - at(s - 1)).toBeCloseTo(lr / 11, 15);
  });

  it('decays as CosineAnnealingLR from lr to minLr, not to 0', () => {
    const at = schedule();
    expect(at(10)).toBeCloseTo(lr, 15);
    // Half-way the rate is the mean of lr and minLr: 0.165 here, 0.15 if it decayed to 0.
    expect(at(60)).toBeCloseTo((lr + minLr) / 2, 15);
    expect(at(60)).toBeCloseTo(0.165, 15);
    for (const s of [11, 25, 35, 47, 73, 90, 109]) expect(at(s)).toBeCloseTo(torchCosine(lr, minLr, s - 10, 100), 15);
    // A quarter and three quarters of the way: minLr + (lr - minLr)·(1 ± 1/sqrt 2)/2.
    expect(at(35)).toBeCloseTo(minLr + ((lr - minLr) * (1 + Math.SQRT1_2)) / 2, 15);
    expect(at(85)).toBeCloseTo(minLr + ((lr - minLr) * (1 - Math.SQRT1_2)) / 2, 15);
    expect(at(110)).toBe(minLr);
    expect(at(500)).toBe(minLr);
    for (let s = 11; s <= 110; s++) expect(at(s)).toBeLessThan(at(s - 1));
    for (let s = 10; s <= 500; s++) expect(at(s)).toBeGreaterThanOrEqual(minLr);
  });

  it('minLr defaults to a tenth of lr; no warm-up starts at lr; a non-positive lr is rejected', () => {
    const d = warmupCosine({ lr: 1, warmup: 0, total: 4 });
    expect(d(0)).toBe(1);
    expect(d(2)).toBeCloseTo(0.55, 15);
    expect(d(1)).toBeCloseTo(0.1 + 0.45 * (1 + Math.SQRT1_2), 15);
    expect(d(4)).toBeCloseTo(0.1, 15);
    // total <= warmup: no division by zero, the floor after warm-up.
    const short = warmupCosine({ lr: 2, warmup: 3, total: 3, minLr: 0.5 });
    expect(short(2)).toBeCloseTo(1.5, 15);
    expect(short(3)).toBe(0.5);
    for (const bad of [0, -1, Number.NaN]) {
      const e = expectCode(() => warmupCosine({ lr: bad, warmup: 1, total: 2 }), 'E_CONFIG', new RegExp(`learning rate ${bad} must be positive`));
      expect(e.hint).toMatch(/--lr/);
    }
    expect(warmupCosine({ lr: 1e-9, warmup: 0, total: 1 })(0)).toBe(1e-9);
    expect(constantLr(0.25)(123)).toBe(0.25);
  });
});
