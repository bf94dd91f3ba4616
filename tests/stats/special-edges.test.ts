/**
 * The special functions off the paths tests/stats/special.test.ts walks: log-gamma's reflection below 1/2, the
 * incomplete gamma on both sides of its series / continued-fraction switch and at its domain edges, the normal
 * quantile's tails and ends, the binomial CDF in log space with its peak inside the sum.
 * Reference values from scipy 1.17 (scipy.special.gammaln / gammainc / gammaincc / kolmogorov, scipy.stats.norm.ppf,
 * binom.cdf), printed to full precision.
 */
import { describe, expect, it } from 'vitest';
import {
  binomialCdf, chiSquareSf, kolmogorovSf, logGamma, normalCdf, normalQuantile, regularizedGammaP, regularizedGammaQ,
} from '../../src/stats/special.ts';

function rel(actual: number, expected: number, rtol = 1e-10): void {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(rtol * Math.abs(expected));
}

describe('log-gamma below 1/2 (the reflection formula)', () => {
  it('matches scipy gammaln at 0.1, 0.25 and at negative non-integers', () => {
    rel(logGamma(0.1), 2.252712651734206, 1e-13);
    rel(logGamma(0.25), 1.2880225246980774, 1e-13);
    rel(logGamma(-0.5), 1.2655121234846454, 1e-13); // log |Γ(-1/2)| = log(2 √π)
    rel(logGamma(-2.5), -0.05624371649767401, 1e-11);
  });
});

describe('regularized incomplete gamma', () => {
  it('P + Q = 1 on both sides of x = a + 1, against scipy gammainc / gammaincc', () => {
    rel(regularizedGammaP(3, 2.5), 0.45618688411667035, 1e-12); // series side
    rel(regularizedGammaQ(3, 2.5), 0.5438131158833297, 1e-12);
    rel(regularizedGammaP(30, 29.5), 0.48771114641816943, 1e-11); // series, just below a + 1
    rel(regularizedGammaQ(30, 31.5), 0.3706686588112807, 1e-11); // continued fraction, just above
    rel(regularizedGammaP(30, 31.5), 1 - 0.3706686588112807, 1e-11);
    rel(regularizedGammaQ(30, 29.5), 1 - 0.48771114641816943, 1e-11);
  });

  it('ends of the domain: x <= 0, x = ∞, a <= 0 or x NaN', () => {
    expect(regularizedGammaP(2, -1)).toBe(0);
    expect(regularizedGammaQ(2, -1)).toBe(1);
    expect(regularizedGammaQ(2, 0)).toBe(1);
    expect(regularizedGammaP(2, Infinity)).toBe(1);
    for (const [a, x] of [[0, 1], [-1, 1], [1, Number.NaN], [Number.NaN, 1]]) {
      expect(regularizedGammaP(a, x)).toBeNaN();
      expect(regularizedGammaQ(a, x)).toBeNaN();
    }
    rel(chiSquareSf(2, 2), Math.exp(-1), 1e-14); // chi-square with 2 df is exponential with mean 2
  });
});

describe('normal quantile', () => {
  it('at the switch to the tail formulas, far in the upper tail, at its ends and outside [0, 1]', () => {
    rel(normalQuantile(0.02425), -1.972961051311885, 1e-12);
    rel(normalQuantile(0.97575), 1.972961051311885, 1e-12);
    rel(normalQuantile(1 - 1e-12), 7.0344869100478356, 1e-9); // scipy got the same rounded double
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(-0.1)).toBeNaN();
    expect(normalQuantile(1.1)).toBeNaN();
    expect(normalQuantile(Number.NaN)).toBeNaN();
    expect(normalCdf(Number.NaN)).toBeNaN();
  });
});

describe('Kolmogorov survival', () => {
  it('matches scipy kolmogorov either side of the series switch and far out; 1 for lambda <= 0', () => {
    rel(kolmogorovSf(1.1), 0.1777181926064012, 1e-12);
    rel(kolmogorovSf(1.25), 0.08786641394169108, 1e-12);
    rel(kolmogorovSf(3), 3.045995948942526e-8, 1e-10);
    expect(kolmogorovSf(-1)).toBe(1);
  });
});

describe('binomial CDF', () => {
  it('floors k, is 1 at k = n and for p = 0, 0 for p = 1', () => {
    rel(binomialCdf(3.7, 10, 0.3), 0.6496107184000002, 1e-12);
    expect(binomialCdf(10, 10, 0.3)).toBe(1);
    expect(binomialCdf(2, 5, 0)).toBe(1);
    expect(binomialCdf(2, 5, 1)).toBe(0);
  });

  it('in log space (q^n underflows) with the largest term inside the sum, not at its end', () => {
    // n = 2000, p = 0.3: 0.7^2000 = e^-713; the pmf peaks at 600, so the terms up to 700 rise then fall.
    rel(binomialCdf(700, 2000, 0.3), 0.9999993380332461, 1e-10);
    // n = 1e5: the peak term (30000) is e^2380 times the last one (40000); scaled by the last, the sum overflows.
    rel(binomialCdf(40000, 100000, 0.3), 1, 1e-12);
  });
});
