/**
 * The self-supervised heads of a {@link ConvEncoder}: a SimCLR projector (features -> hidden -> projection, trained
 * with NT-Xent) and a masked-autoencoder decoder (features -> hidden -> every pixel, trained on the masked pixels).
 * Both keep the encoder's tensor names (`blocks.*`, `fc.*`) at the top level, so a {@link ConvClassifier} starts from
 * either with `--init-from`; the head (`projector.*`, `decoder.*`) is dropped there.
 */
import type { Tensor } from '../core/graph.ts';
import { relu, reshape } from '../core/ops/index.ts';
import { Linear } from '../nn/layers.ts';
import { ConvEncoder, type ConvEncoderConfig } from './conv-classifier.ts';

/** Self-supervised objectives of a conv encoder. */
export type ImageSslObjective = 'simclr' | 'mae';

/** Names of the pretraining heads' tensors, which a classifier fine-tuned from the encoder does not use. */
export const SSL_HEAD_TENSORS = /^(projector|decoder)\./;


/**
 * A {@link ConvEncoder} with a head for one objective: `simclr` maps features to a `projection`-wide vector
 * (through a ReLU hidden layer, as SimCLR's MLP projector); `mae` maps them to all C×H×W pixels (sigmoid-free: the
 * loss compares them with pixels in [0, 1]). `forward(x)` returns the head's output.
 *
 * @example
 * const net = new ConvPretrainer(encoderCfg, 'simclr', { hidden: 128, out: 64 }).init(0);
 * const z = net.call(views); // [2N, 64]
 */
export class ConvPretrainer extends ConvEncoder {
  readonly projector?: Linear[];
  readonly decoder?: Linear[];

  constructor(cfg: ConvEncoderConfig, readonly objective: ImageSslObjective, head: { hidden: number; out?: number }) {
    super(cfg);
    const pixels = cfg.channels * cfg.imageSize * cfg.imageSize;
    const layers = (out: number) => [new Linear(cfg.features, head.hidden), new Linear(head.hidden, out)];
    if (objective === 'simclr') this.projector = layers(head.out ?? cfg.features);
    else this.decoder = layers(pixels);
  }

  override forward(x: Tensor): Tensor {
    const [first, second] = (this.projector ?? this.decoder)!;
    const out = second.call(relu(first.call(this.features(x))));
    if (this.objective === 'simclr') return out; // [N, projection]
    const { channels: c, imageSize: s } = this.cfg;
    return reshape(out, [x.shape[0], c, s, s]); // [N, C, H, W]
  }
}
