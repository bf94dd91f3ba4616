/**
 * A small DDPM-style U-Net denoiser over NCHW images, built from the spatial modules of nn/conv.ts: a time (and
 * optional class) embedding, a down path of residual blocks with stride-2 conv downsampling, a middle block with
 * self-attention at the lowest resolution, an up path that concatenates the down path's skips, and a
 * GroupNorm + SiLU + conv head. Read top to bottom in five minutes.
 */
import type { Tensor } from '../core/graph.ts';
import { add, concat, mul } from '../core/ops/index.ts';
import { Conv2d, GroupNorm, ResBlock, SpatialSelfAttention, Upsample } from '../nn/conv.ts';
import { silu } from '../nn/functional.ts';
import { Embedding, Linear } from '../nn/layers.ts';
import { Module } from '../nn/module.ts';
import { timestepEmbedding } from '../nn/spatial.ts';
import { SwitchyardError } from '../util/errors.ts';

/** The architecture of a {@link UNet}. */
export interface UNetConfig {
  /** Image channels in and out (1 for MNIST). */
  channels: number;
  /** Image height and width (square; divisible by 2^(levels - 1)). */
  imageSize: number;
  /** Channels of the first level; level i has `base * mults[i]`. */
  base: number;
  /** Channel multiplier per resolution level; every level after the first halves the resolution. */
  mults: number[];
  /** Width of the time (and class) embedding. */
  timeDim: number;
  /** GroupNorm groups (must divide every level's channels). */
  groups: number;
  /** Attention heads of the middle block. */
  heads: number;
  /** Number of classes for class conditioning (0: unconditional). Id `classes` is the null class (CFG). */
  classes: number;
  /** How the up path upsamples before its 3x3 conv: `nearest` (absent: the default) or `bilinear`. */
  upsample?: 'nearest' | 'bilinear';
}

/**
 * Named U-Net sizes: `tiny` (28x28 -> 14x14, ~0.2M parameters, for tests and a first run) and `small`
 * (28x28 -> 14x14 -> 7x7, ~1.6M parameters).
 *
 * @example
 * const unet = new UNet({ ...UNET_PRESETS.tiny, classes: 10 }).init(0);
 */
export const UNET_PRESETS: Record<'tiny' | 'small', UNetConfig> = {
  tiny: { channels: 1, imageSize: 28, base: 16, mults: [1, 2], timeDim: 64, groups: 8, heads: 2, classes: 0 },
  small: { channels: 1, imageSize: 28, base: 32, mults: [1, 2, 2], timeDim: 128, groups: 8, heads: 4, classes: 0 },
};

/** Diffusion time t in [0, 1] is scaled by this before the sinusoidal embedding (DDPM's step range). */
const TIME_SCALE = 1000;

/** Checks that `c` describes a U-Net that can be built (E_CONFIG naming the field otherwise). */
function checkUNetConfig(c: UNetConfig): void {
  const bad = (what: string, hint: string) => {
    throw new SwitchyardError('E_CONFIG', `unet: ${what}`, hint);
  };
  if (c.mults.length < 1) bad('mults must list at least one level', 'e.g. [1, 2]');
  const factor = 2 ** (c.mults.length - 1);
  if (c.imageSize % factor !== 0) {
    bad(`image size ${c.imageSize} is not divisible by ${factor} (${c.mults.length} levels)`, 'use fewer levels');
  }
  for (const m of c.mults) {
    const channels = c.base * m;
    if (channels % c.groups !== 0) bad(`${c.groups} groups do not divide ${channels}`, 'pick groups dividing every level');
  }
  if (!(Number.isInteger(c.classes) && c.classes >= 0)) {
    bad(`classes must be an integer >= 0, got ${c.classes}`, 'e.g. 10');
  }
  if (c.upsample !== undefined && c.upsample !== 'nearest' && c.upsample !== 'bilinear') {
    bad(`upsample ${JSON.stringify(c.upsample)} is not nearest or bilinear`, 'e.g. "bilinear"');
  }
}

/**
 * The denoiser `forward(x, t, label?)`: x f32 [N, C, H, W] (noisy images), t f32 [N] in [0, 1], label i64 [N]
 * (class id, or `classes` for "no class"; required when `classes > 0`) -> f32 [N, C, H, W] (the predicted noise,
 * velocity or flow, depending on the objective it was trained with).
 *
 * @example
 * const unet = new UNet(UNET_PRESETS.tiny).init(0);
 * const eps = unet.call(x, t); // x [N, 1, 28, 28], t [N]
 */
export class UNet extends Module {
  readonly timeIn: Linear;
  readonly timeOut: Linear;
  readonly labelEmbedding: Embedding | undefined;
  readonly inConv: Conv2d;
  readonly down: ResBlock[] = [];
  readonly downsample: Conv2d[] = [];
  readonly mid: ResBlock;
  readonly midAttn: SpatialSelfAttention;
  readonly up: ResBlock[] = [];
  readonly upsample: Upsample[] = [];
  readonly outNorm: GroupNorm;
  readonly outConv: Conv2d;

  constructor(readonly cfg: UNetConfig) {
    super();
    checkUNetConfig(cfg);
    const { base, mults, timeDim, groups } = cfg;
    this.timeIn = new Linear(base, timeDim);
    this.timeOut = new Linear(timeDim, timeDim);
    // One row per class plus the null class of classifier-free guidance.
    this.labelEmbedding = cfg.classes > 0 ? new Embedding(cfg.classes + 1, timeDim) : undefined;
    this.inConv = new Conv2d(cfg.channels, base, 3, { padding: 1 });
    let ch = base;
    const skips: number[] = [];
    mults.forEach((m, i) => {
      this.down.push(new ResBlock(ch, base * m, timeDim, { groups }));
      ch = base * m;
      skips.push(ch);
      if (i < mults.length - 1) this.downsample.push(new Conv2d(ch, ch, 3, { stride: 2, padding: 1 }));
    });
    this.mid = new ResBlock(ch, ch, timeDim, { groups });
    const lowest = cfg.imageSize / 2 ** (mults.length - 1);
    this.midAttn = new SpatialSelfAttention(ch, cfg.heads, lowest * lowest, { groups });
    for (let i = mults.length - 1; i >= 0; i--) {
      this.up.push(new ResBlock(ch + skips[i], base * mults[i], timeDim, { groups }));
      ch = base * mults[i];
      if (i > 0) this.upsample.push(new Upsample(2, ch, cfg.upsample ?? 'nearest'));
    }
    this.outNorm = new GroupNorm(groups, ch);
    this.outConv = new Conv2d(ch, cfg.channels, 3, { padding: 1 });
  }

  forward(x: Tensor, t: Tensor, label?: Tensor): Tensor {
    let emb = this.timeOut.call(silu(this.timeIn.call(timestepEmbedding(mul(t, TIME_SCALE), this.cfg.base))));
    if (this.labelEmbedding) {
      if (!label) {
        const hint = `pass label ${this.cfg.classes} for "no class"`;
        throw new SwitchyardError('E_CONFIG', 'unet: a class-conditional U-Net needs labels', hint);
      }
      emb = add(emb, this.labelEmbedding.call(label));
    }
    let h = this.inConv.call(x);
    const skips: Tensor[] = [];
    this.down.forEach((block, i) => {
      h = block.call(h, emb);
      skips.push(h);
      if (i < this.downsample.length) h = this.downsample[i].call(h);
    });
    h = this.midAttn.call(this.mid.call(h, emb));
    this.up.forEach((block, j) => {
      h = block.call(concat([h, skips[skips.length - 1 - j]], 1), emb);
      if (j < this.upsample.length) h = this.upsample[j].call(h);
    });
    return this.outConv.call(silu(this.outNorm.call(h)));
  }
}
