const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * The Gauss error function to about 1e-15 relative accuracy: for |x| < 3 the everywhere-positive series
 * `erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))` (no cancellation), beyond that
 * `1 - erfc(x)` with the Laplace continued fraction of erfc.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  const r = ax < 3 ? erfSeries(ax) : 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term <= sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** erfc(x) for x >= 3: `exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))`, evaluated backwards. */
function erfcContinuedFraction(x: number): number {
  if (x > 27) return 0;
  let t = x;
  for (let n = 80; n >= 1; n--) t = x + n / 2 / t;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / t;
}
