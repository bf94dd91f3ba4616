import { describe, expect, it } from 'vitest';
import { binomialCdf, chiSquareSf, kolmogorovSf, logGamma, normalCdf, normalQuantile, regularizedGammaP, regularizedGammaQ } from '../../src/stats/special.ts';

/** Relative closeness for values that may be tiny. */
function rel(actual: number, expected: number, rtol = 1e-10): void {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(rtol * Math.abs(expected) + 1e-300);
}

// Reference values from scipy 1.17 (scipy.special / scipy.stats), printed to full precision.
describe('special functions', () => {
  it('logGamma matches factorials and scipy gammaln', () => {
    for (let n = 3; n < 20; n++) {
      let f = 1;
      for (let k = 2; k < n; k++) f *= k;
      rel(logGamma(n), Math.log(f), 1e-13);
    }
    for (const n of [1, 2]) expect(Math.abs(logGamma(n))).toBeLessThan(1e-14);
    rel(logGamma(0.5), 0.5723649429247, 1e-12);
    rel(logGamma(10.3), 13.482036786138359, 1e-13);
    rel(logGamma(100), 359.1342053695754, 1e-13);
  });

  it('regularized incomplete gamma', () => {
    rel(regularizedGammaP(1, 2), 1 - Math.exp(-2), 1e-14);
    rel(regularizedGammaQ(1, 2), Math.exp(-2), 1e-14);
    rel(regularizedGammaP(2.5, 1), 0.15085496391539038);
    rel(regularizedGammaP(10, 15), 0.9301463393005901);
    rel(regularizedGammaQ(3, 40), 3.572865928700233e-15, 1e-9);
    rel(regularizedGammaP(0.5, 0.01), 0.11246291601828491);
    expect(regularizedGammaP(2, 0)).toBe(0);
    expect(regularizedGammaQ(2, Infinity)).toBe(0);
  });

  it('normal CDF and quantile, including the far tail', () => {
    rel(normalCdf(-8), 6.22096057427174e-16, 1e-9);
    rel(normalCdf(1.5), 0.9331927987311419);
    rel(normalCdf(-1.5), 0.06680720126885807);
    rel(normalCdf(0.1), 0.539827837277029);
    expect(normalCdf(0)).toBe(0.5);
    rel(normalQuantile(1e-10), -6.361340902404056, 1e-12);
    rel(normalQuantile(0.3), -0.5244005127080409, 1e-12);
    rel(normalQuantile(0.99), 2.3263478740408408, 1e-12);
    rel(normalQuantile(0.025), -1.9599639845400545, 1e-12);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 14);
    expect(normalQuantile(0)).toBe(-Infinity);
    for (const p of [1e-6, 0.01, 0.2, 0.7, 0.95, 0.999999]) rel(normalCdf(normalQuantile(p)), p, 1e-12);
  });

  it('chi-square survival', () => {
    rel(chiSquareSf(3.841458820694124, 1), 0.05, 1e-12);
    rel(chiSquareSf(10, 3), 0.01856613546304325);
    rel(chiSquareSf(100, 10), 5.4497019829205215e-17, 1e-9);
    rel(chiSquareSf(0.5, 7), 0.9994464813904249);
    expect(chiSquareSf(0, 4)).toBe(1);
  });

  it('Kolmogorov survival on both series branches', () => {
    rel(kolmogorovSf(0.2), 0.999999999999495, 1e-12);
    rel(kolmogorovSf(0.5), 0.9639452436648751, 1e-12);
    rel(kolmogorovSf(1.0), 0.26999967167735456, 1e-12);
    rel(kolmogorovSf(1.18), 0.1234538094297657, 1e-12);
    rel(kolmogorovSf(2.0), 0.0006709252557796953, 1e-12);
    rel(kolmogorovSf(1.3580986393225505), 0.05, 1e-9);
    expect(kolmogorovSf(0)).toBe(1);
  });

  it('binomial CDF equals the direct sum and scipy', () => {
    rel(binomialCdf(1, 3, 0.5), 0.5, 1e-14);
    rel(binomialCdf(3, 10, 0.3), 0.6496107184000002, 1e-12);
    rel(binomialCdf(40, 100, 0.5), 0.028443966820490444, 1e-11);
    rel(binomialCdf(400, 2000, 0.3), 2.3706923821954414e-24, 1e-9);
    rel(binomialCdf(0, 20, 0.5), 9.5367431640625e-7, 1e-12);
    expect(binomialCdf(-1, 5, 0.5)).toBe(0);
    expect(binomialCdf(5, 5, 0.5)).toBe(1);
  });
});
