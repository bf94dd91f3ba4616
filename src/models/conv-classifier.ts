/**
 * A small conv-net image classifier: blocks of conv 3x3 -> GroupNorm -> ReLU -> 2x2 max pool, then a flattened
 * feature layer (Linear + ReLU: the "penultimate features" a classifier FID compares) and a linear head. It is the
 * reference network of the classifier FID (src/eval/classifier-fid.ts), small enough to ship its weights.
 */
import type { Tensor } from '../core/graph.ts';
import { relu, reshape } from '../core/ops/index.ts';
import { Conv2d, GroupNorm, Pool2d } from '../nn/conv.ts';
import { Linear } from '../nn/layers.ts';
import { Module } from '../nn/module.ts';
import { SwitchyardError } from '../util/errors.ts';

/** The architecture of a {@link ConvClassifier}. */
export interface ConvClassifierConfig {
  /** Image channels (1 for MNIST). */
  channels: number;
  /** Image height and width (square; divisible by 2^blocks). */
  imageSize: number;
  /** Output channels of each conv block; every block halves the resolution. */
  widths: number[];
  /** GroupNorm groups (must divide every width). */
  groups: number;
  /** Width of the penultimate feature layer. */
  features: number;
  /** Number of classes. */
  classes: number;
}

/**
 * The MNIST reference classifier's architecture: 28 -> 14 -> 7 with 16 and 32 channels, 64 features (~106k
 * parameters, 424 KB of f32 weights).
 *
 * @example
 * const net = new ConvClassifier(MNIST_CLASSIFIER_CONFIG).init(0);
 */
export const MNIST_CLASSIFIER_CONFIG: ConvClassifierConfig = {
  channels: 1,
  imageSize: 28,
  widths: [16, 32],
  groups: 4,
  features: 64,
  classes: 10,
};

/** One conv block: conv 3x3 (padding 1) -> GroupNorm -> ReLU -> max pool 2x2 (halves H and W). */
class ConvBlock extends Module {
  readonly conv: Conv2d;
  readonly norm: GroupNorm;
  readonly pool = new Pool2d('max', 2);
  constructor(inChannels: number, outChannels: number, groups: number) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, 3, { padding: 1 });
    this.norm = new GroupNorm(groups, outChannels);
  }
  forward(x: Tensor): Tensor {
    return this.pool.call(relu(this.norm.call(this.conv.call(x))));
  }
}

/** The encoder part of a {@link ConvClassifierConfig}: everything but the number of classes. */
export type ConvEncoderConfig = Omit<ConvClassifierConfig, 'classes'>;

/**
 * The conv blocks and the feature layer of a {@link ConvClassifier} without its head: `forward(x)` maps x f32
 * [N, C, H, W] to the features [N, features] (after ReLU). Self-supervised pretraining (src/train/image-ssl.ts) trains
 * it with a projector or a decoder on top; its tensor names (`blocks.*`, `fc.*`) are the classifier's, so a
 * classifier starts from it with `--init-from`.
 *
 * @example
 * const enc = new ConvEncoder(MNIST_CLASSIFIER_CONFIG).init(0);
 * const feats = enc.call(x); // x [N, 1, 28, 28] -> [N, 64]
 */
export class ConvEncoder extends Module {
  readonly blocks: ConvBlock[] = [];
  readonly fc: Linear;

  constructor(readonly cfg: ConvEncoderConfig) {
    super();
    const side = cfg.imageSize / 2 ** cfg.widths.length;
    if (!Number.isInteger(side) || side < 1 || cfg.widths.some((w) => w % cfg.groups !== 0)) {
      const what = `conv classifier: ${cfg.widths.length} blocks on ${cfg.imageSize}px with ${cfg.groups} groups`;
      throw new SwitchyardError('E_CONFIG', what, 'the size must halve per block and groups divide every width');
    }
    let ch = cfg.channels;
    for (const w of cfg.widths) {
      this.blocks.push(new ConvBlock(ch, w, cfg.groups));
      ch = w;
    }
    this.fc = new Linear(ch * side * side, cfg.features);
  }

  /** The penultimate features [N, features]. */
  features(x: Tensor): Tensor {
    let h = x;
    for (const block of this.blocks) h = block.call(h); // [N, C, H / 2^k, W / 2^k]
    const flat = reshape(h, [x.shape[0], this.fc.inFeatures]); // [N, C * side * side]
    return relu(this.fc.call(flat)); // [N, features]
  }

  forward(x: Tensor): Tensor {
    return this.features(x);
  }
}

/**
 * `features(x)`: x f32 [N, C, H, W] in [0, 1] -> [N, features] (after ReLU); `forward(x)` -> logits [N, classes].
 *
 * @example
 * const net = new ConvClassifier(MNIST_CLASSIFIER_CONFIG).init(0);
 * const logits = net.call(x); // x [N, 1, 28, 28]
 */
export class ConvClassifier extends ConvEncoder {
  readonly head: Linear;

  constructor(override readonly cfg: ConvClassifierConfig) {
    super(cfg);
    this.head = new Linear(cfg.features, cfg.classes);
  }

  override forward(x: Tensor): Tensor {
    return this.head.call(this.features(x)); // [N, classes]
  }
}
