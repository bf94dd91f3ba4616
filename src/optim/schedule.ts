import { SwitchyardError } from '../util/errors.ts';

/** Learning rate as a function of the 0-based optimizer step; computed in TypeScript and fed per step. */
export type Schedule = (step: number) => number;

/** Options of {@link warmupCosine}. */
export interface WarmupCosineOptions {
  lr: number;
  /** Linear warm-up steps from ~0 to `lr`. */
  warmup: number;
  /** Total steps; after warm-up the rate follows a half cosine down to `minLr` at `total`. */
  total: number;
  minLr?: number;
}

/**
 * Linear warm-up then cosine decay.
 *
 * @example
 * const lrAt = warmupCosine({ lr: 3e-4, warmup: 100, total: 5000, minLr: 3e-5 });
 * lrAt(0); // 3e-6
 */
export function warmupCosine(o: WarmupCosineOptions): Schedule {
  const minLr = o.minLr ?? o.lr * 0.1;
  if (!(o.lr > 0)) throw new SwitchyardError('E_CONFIG', `learning rate ${o.lr} must be positive`, 'use e.g. --lr 0.001');
  return (step) => {
    if (step < o.warmup) return (o.lr * (step + 1)) / (o.warmup + 1);
    if (step >= o.total) return minLr;
    const t = (step - o.warmup) / Math.max(1, o.total - o.warmup);
    return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * t));
  };
}

/** A constant rate. */
export const constantLr = (lr: number): Schedule => () => lr;
