/** Paired tests for two models scored on the same examples. */
import { check } from '../util/errors.ts';
import { binomialCdf, chiSquareSf } from './special.ts';

/** Discordant-pair total below which {@link mcnemar} uses the exact binomial test. */
export const MCNEMAR_EXACT_BELOW = 25;

/**
 * McNemar's test on the discordant counts of a paired 2x2 table: `b` = examples only model A gets right,
 * `c` = examples only model B gets right. When b + c < 25 it is the exact two-sided binomial test
 * (statistic = min(b, c), as statsmodels `mcnemar(exact=True)`); otherwise the chi-square test with
 * continuity correction, (|b - c| - 1)² / (b + c) on 1 df (statsmodels `exact=False, correction=True`).
 *
 * @example
 * mcnemar(0, 5); // { statistic: 0, pValue: 0.0625, exact: true }
 */
export function mcnemar(b: number, c: number): { statistic: number; pValue: number; exact: boolean } {
  check(b >= 0 && c >= 0 && Number.isInteger(b) && Number.isInteger(c), 'E_STATS_COUNTS', `mcnemar: discordant counts must be non-negative integers (got ${b}, ${c})`);
  const n = b + c;
  if (n < MCNEMAR_EXACT_BELOW) {
    const k = Math.min(b, c);
    return { statistic: k, pValue: n === 0 ? 1 : Math.min(1, 2 * binomialCdf(k, n, 0.5)), exact: true };
  }
  const statistic = Math.max(0, Math.abs(b - c) - 1) ** 2 / n;
  return { statistic, pValue: chiSquareSf(statistic, 1), exact: false };
}
