/**
 * BERT-style masking for masked-token pretraining: each position is chosen with probability `rate` (15% by
 * default); a chosen position becomes the mask token 80% of the time, a uniformly random token 10% of the time,
 * and stays as it is 10% of the time. The model is scored only at chosen positions, against the original token.
 * The random replacement keeps the model from trusting unmasked tokens blindly; keeping 10% unchanged makes it
 * represent every input token, since any of them may be a target (Devlin et al., 2019, section 3.1).
 */
import { SwitchyardError } from '../../util/errors.ts';
import type { Rng } from '../../util/rng.ts';

/**
 * How {@link maskTokens} masks.
 *
 * @example
 * const m: MaskingOptions = { rate: 0.15, maskId: 256, randomVocab: 256 };
 */
export interface MaskingOptions {
  /** Probability that a position is a target, in (0, 1) (BERT: 0.15). */
  rate: number;
  /** The id of the mask token (outside the tokenizer's ids: one extra embedding row). */
  maskId: number;
  /** Random replacements are drawn from `[0, randomVocab)`: the tokenizer's own ids, never the mask token. */
  randomVocab: number;
}

/** Shares of chosen positions replaced by the mask token and by a random token (the rest stay unchanged). */
export const MASK_SPLIT = { mask: 0.8, random: 0.1 } as const;

/**
 * Masks `ids` (row-major token ids, any shape) for masked-token prediction: returns the corrupted input `x`
 * and the loss weights `w` (1 at chosen positions, 0 elsewhere); the targets are `ids` themselves. Seeded by `rng`:
 * the same generator state gives the same masks.
 *
 * @example
 * const { x, w } = maskTokens(batch.x, { rate: 0.15, maskId: 256, randomVocab: 256 }, new Rng(0));
 */
export function maskTokens(ids: BigInt64Array, opts: MaskingOptions, rng: Rng): { x: BigInt64Array; w: Float32Array } {
  if (!(opts.rate > 0 && opts.rate < 1)) {
    throw new SwitchyardError('E_CONFIG', `mask rate must be in (0, 1), got ${opts.rate}`, 'BERT uses 0.15');
  }
  const x = ids.slice();
  const w = new Float32Array(ids.length);
  const maskId = BigInt(opts.maskId);
  for (let i = 0; i < ids.length; i++) {
    if (rng.next() >= opts.rate) continue;
    w[i] = 1;
    const u = rng.next();
    if (u < MASK_SPLIT.mask) x[i] = maskId;
    else if (u < MASK_SPLIT.mask + MASK_SPLIT.random) x[i] = BigInt(rng.int(opts.randomVocab));
  }
  return { x, w };
}
