/**
 * Modules over NCHW feature maps, with PyTorch's parameter names and default initialisation: Conv2d, GroupNorm,
 * pooling and upsampling, a residual block conditioned on a time embedding (the U-Net building block of DDPM),
 * and multi-head self-attention over the pixels of a feature map.
 */
import { currentScope, type Tensor } from '../core/graph.ts';
import { add, type Conv2dOptions, conv2d, reshape, transpose } from '../core/ops/index.ts';
import { SwitchyardError } from '../util/errors.ts';
import { CausalSelfAttention } from './attention.ts';
import { dropout, silu } from './functional.ts';
import { kaimingUniform, ones, zeros } from './init.ts';
import { Linear } from './layers.ts';
import { Module, Parameter } from './module.ts';
import { avgPool2d, featureDims, groupNorm, maxPool2d, upsampleBilinear2d, upsampleNearest2d } from './spatial.ts';

/**
 * 2-D convolution with a bias: `weight` [out, in / groups, k, k], `bias` [out], both U(-1/sqrt(fanIn), +) as in
 * PyTorch (fanIn = in / groups * k * k).
 *
 * @example
 * const conv = new Conv2d(3, 64, 3, { padding: 1 }); // [N, 3, 32, 32] -> [N, 64, 32, 32]
 */
export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly opts: Conv2dOptions & { bias?: boolean } = {},
  ) {
    super();
    const groups = opts.groups ?? 1;
    for (const [name, v] of [['in channels', inChannels], ['out channels', outChannels], ['kernel', kernel]] as const) {
      if (!(Number.isInteger(v) && v >= 1)) {
        throw new SwitchyardError(
          'E_CONFIG',
          `Conv2d: ${name} must be a positive integer, got ${v}`,
          'e.g. new Conv2d(3, 64, 3)',
        );
      }
    }
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new SwitchyardError(
        'E_CONFIG',
        `Conv2d: groups ${groups} must divide in (${inChannels}) and out (${outChannels}) channels`,
        'pick a group count that divides both',
      );
    }
    const fanIn = (inChannels / groups) * kernel * kernel;
    this.weight = new Parameter([outChannels, inChannels / groups, kernel, kernel], kaimingUniform(fanIn));
    this.bias = opts.bias === false ? undefined : new Parameter([outChannels], kaimingUniform(fanIn), { decay: false });
  }
  forward(x: Tensor): Tensor {
    const [c] = featureDims(x, currentScope() || 'conv2d');
    if (c !== this.inChannels) {
      throw new SwitchyardError(
        'E_SHAPE',
        `${currentScope() || 'conv2d'}: input has ${c} channels, the layer expects ${this.inChannels} (input ${x})`,
        "check the previous layer's output channels",
      );
    }
    const y = conv2d(x, this.weight.t, this.opts);
    return this.bias ? add(y, reshape(this.bias.t, [this.outChannels, 1, 1])) : y;
  }
}

/**
 * Group normalisation with a learnable per-channel gain (ones) and shift (zeros).
 *
 * @example
 * const norm = new GroupNorm(8, 64);
 */
export class GroupNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  constructor(readonly groups: number, readonly channels: number, readonly eps = 1e-5) {
    super();
    if (!(Number.isInteger(groups) && groups >= 1 && channels % groups === 0)) {
      throw new SwitchyardError(
        'E_CONFIG',
        `GroupNorm: ${groups} groups do not divide ${channels} channels`,
        'pick a group count that divides the channels (e.g. 8 or 32)',
      );
    }
    this.weight = new Parameter([channels], ones, { decay: false });
    this.bias = new Parameter([channels], zeros, { decay: false });
  }
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.groups, this.weight.t, this.bias.t, this.eps);
  }
}

/**
 * Pooling (`avg` or `max`) over `kernel` x `kernel` windows, stride = kernel unless given.
 *
 * @example
 * const down = new Pool2d('avg', 2); // [N, C, 32, 32] -> [N, C, 16, 16]
 */
export class Pool2d extends Module {
  constructor(readonly kind: 'avg' | 'max', readonly kernel: number, readonly stride = kernel, readonly padding = 0) {
    super();
  }
  forward(x: Tensor): Tensor {
    return (this.kind === 'avg' ? avgPool2d : maxPool2d)(x, this.kernel, this.stride, this.padding);
  }
}

/**
 * Upsampling by `scale`, nearest-neighbour (default) or bilinear (`mode`), optionally followed by a 3x3 conv
 * (`channels`; DDPM's Upsample).
 *
 * @example
 * const up = new Upsample(2, 64); // [N, 64, 16, 16] -> [N, 64, 32, 32]
 * const smooth = new Upsample(2, 64, 'bilinear');
 */
export class Upsample extends Module {
  readonly conv: Conv2d | undefined;
  constructor(readonly scale = 2, channels?: number, readonly mode: 'nearest' | 'bilinear' = 'nearest') {
    super();
    this.conv = channels ? new Conv2d(channels, channels, 3, { padding: 1 }) : undefined;
  }
  forward(x: Tensor): Tensor {
    const up = (this.mode === 'bilinear' ? upsampleBilinear2d : upsampleNearest2d)(x, this.scale);
    return this.conv ? this.conv.call(up) : up;
  }
}

/** Options of {@link ResBlock}. */
export interface ResBlockOptions {
  /** GroupNorm groups (default 8; must divide both channel counts). */
  groups?: number;
  /** Dropout before the second conv (default 0). */
  dropout?: number;
}

/**
 * DDPM's residual block: `x + conv2(dropout(silu(norm2(conv1(silu(norm1(x))) + proj(silu(temb))))))`, with a 1x1
 * conv on the skip path when the channel count changes. `temb` [N, timeDim] is the time (and class) embedding.
 *
 * @example
 * const block = new ResBlock(64, 128, 256); block.call(x, temb); // [N, 64, H, W] -> [N, 128, H, W]
 */
export class ResBlock extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly timeProj: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly skip: Conv2d | undefined;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    timeDim: number,
    readonly opts: ResBlockOptions = {},
  ) {
    super();
    const groups = opts.groups ?? 8;
    this.norm1 = new GroupNorm(groups, inChannels);
    this.conv1 = new Conv2d(inChannels, outChannels, 3, { padding: 1 });
    this.timeProj = new Linear(timeDim, outChannels);
    this.norm2 = new GroupNorm(groups, outChannels);
    this.conv2 = new Conv2d(outChannels, outChannels, 3, { padding: 1 });
    this.skip = inChannels === outChannels ? undefined : new Conv2d(inChannels, outChannels, 1);
  }
  forward(x: Tensor, temb: Tensor): Tensor {
    let h = this.conv1.call(silu(this.norm1.call(x)));
    h = add(h, reshape(this.timeProj.call(silu(temb)), [temb.shape[0], this.outChannels, 1, 1]));
    h = this.conv2.call(dropout(silu(this.norm2.call(h)), this.opts.dropout ?? 0));
    return add(this.skip ? this.skip.call(x) : x, h);
  }
}

/**
 * Self-attention over the pixels of a feature map with a residual: GroupNorm, then every pixel attends to every
 * pixel (non-causal multi-head attention of {@link CausalSelfAttention} with `causal: false`), added back.
 *
 * @example
 * const attn = new SpatialSelfAttention(128, 4, 16 * 16); // at 16x16
 */
export class SpatialSelfAttention extends Module {
  readonly norm: GroupNorm;
  readonly attn: CausalSelfAttention;
  constructor(readonly channels: number, heads: number, pixels: number, opts: { groups?: number } = {}) {
    super();
    this.norm = new GroupNorm(opts.groups ?? 8, channels);
    this.attn = new CausalSelfAttention(channels, { heads, maxLen: pixels, causal: false });
  }
  forward(x: Tensor): Tensor {
    const [c, h, w] = featureDims(x, currentScope() || 'attention');
    const seq = transpose(reshape(this.norm.call(x), [x.shape[0], c, h * w]), [0, 2, 1]); // [N, HW, C]
    const y = this.attn.call(seq);
    return add(x, reshape(transpose(y, [0, 2, 1]), [...x.shape]));
  }
}
