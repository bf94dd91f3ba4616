/**
 * The sampling loop of a diffusion run as one ONNX graph: an ONNX Loop over the sampler's steps around the
 * denoiser, with the steps' times and coefficients ({@link samplerSteps}) baked in as constants and the starting
 * noise, the class ids and the guidance weight as inputs. ONNX Runtime (or any ONNX runtime with Loop) draws
 * images from it with no Switchyard code: the deterministic samplers (`ddim`, `euler`) only, since `ddpm` draws
 * fresh noise at every step.
 */
import type { Tensor } from '../core/graph.ts';
import { add, constant, fullLike, gather, loop, maximum, minimum, mul, reduceSum, sub } from '../core/ops/index.ts';
import type { UNet } from '../models/unet.ts';
import { SwitchyardError } from '../util/errors.ts';
import { checkRanges } from '../util/ranges.ts';
import {
  loadDenoiser, pickSampler, type Sampler, SAMPLE_RANGES, samplerSteps, type SamplerStep,
} from './diffusion-sample.ts';
import { exportOnnx } from './forward.ts';
import type { BatchSpec } from './step.ts';

/** Options of {@link exportSamplingLoop}. */
export interface SamplingLoopExportOptions {
  /** `ddim` or `euler` (default: the run's, as `switchyard sample`); `ddpm` is refused (it is not deterministic). */
  sampler?: Sampler;
  /** Denoising steps (default 50). */
  steps?: number;
  /** Export the raw weights instead of the EMA ones. */
  raw?: boolean;
  /** Export the EMA weights kept after this many updates. */
  snapshot?: number;
  /** Default-domain opset to write (see `exportOnnx`). */
  opset?: number;
}

/** The denoiser's output for x at the step time `t` (a scalar) and class ids `label` (or none). */
function denoiseAt(model: UNet, x: Tensor, t: Tensor, label?: Tensor): Tensor {
  const times = add(fullLike(reduceSum(x, [1, 2, 3]), 0), t); // t for every image: [N]
  return label ? model.call(x, times, label) : model.call(x, times);
}

/** The loop graph's body and inputs, for {@link exportOnnx}. */
function samplingLoopGraph(model: UNet, steps: SamplerStep[]) {
  const { channels, imageSize, classes } = model.cfg;
  const spec: BatchSpec = {
    noise: { dtype: 'f32', shape: ['batch', channels, imageSize, imageSize] },
    ...(classes > 0 ? { label: { dtype: 'i64', shape: ['batch'] }, guidance: { dtype: 'f32', shape: [] } } : {}),
  };
  const column = (key: keyof SamplerStep) => constant(Float32Array.from(steps, (s) => s[key]), [steps.length]);
  const fn = (_m: unknown, b: Record<string, Tensor>) => {
    const [t, keep, toX0, fromX, fromOut, velocity] = (['t', 'keep', 'toX0', 'fromX', 'fromOut', 'velocity'] as const)
      .map(column);
    const [images] = loop(steps.length, [b.noise], (iter, x) => {
      const at = (c: Tensor) => gather(c, iter, 0);
      let out = denoiseAt(model, x, at(t), b.label);
      if (b.label) {
        // Classifier-free guidance as the host sampler: uncond + w (cond - uncond), the null class being `classes`.
        const uncond = denoiseAt(model, x, at(t), fullLike(b.label, classes));
        out = add(uncond, mul(b.guidance, sub(out, uncond)));
      }
      const x0 = maximum(minimum(add(mul(at(fromX), x), mul(at(fromOut), out)), 1), -1);
      const next = add(add(mul(at(keep), x), mul(at(toX0), x0)), mul(at(velocity), out));
      return { carried: [next], scans: [] };
    });
    return { images };
  };
  return { fn, spec };
}

/**
 * Exports the sampling loop of a diffusion run as one ONNX model (see the module comment). Inputs: `noise` f32
 * [N, C, H, W] (standard normal: the image at t = 1), and for class-conditional runs `label` i64 [N] (class ids;
 * the run's class count is the null class) and `guidance` f32 [] (1: none); output `images` f32 [N, C, H, W] in
 * about [-1, 1]. Fed the noise `switchyard sample` draws (its seed's normal stream), it gives the same images.
 *
 * @example
 * const { bytes } = await exportSamplingLoop('runs/unet', { steps: 20 });
 * writeFileSync('sampler.onnx', bytes);
 */
export async function exportSamplingLoop(
  runDir: string, o: SamplingLoopExportOptions = {},
): Promise<{ bytes: Uint8Array; sampler: Sampler; steps: number; inputs: string[] }> {
  checkRanges(o, SAMPLE_RANGES);
  const { cfg, model } = await loadDenoiser(runDir, o);
  const sampler = pickSampler(cfg.diffusion.objective, o.sampler, runDir);
  if (sampler === 'ddpm') {
    const what = `--sampler ddpm: the exported sampling loop is deterministic (${runDir})`;
    throw new SwitchyardError('E_USAGE', what, 'export --sampler ddim (the same schedule without fresh noise)');
  }
  const steps = samplerSteps({ ...cfg.diffusion, sampler, steps: o.steps ?? 50 });
  const { fn, spec } = samplingLoopGraph(model, steps);
  const meta = {
    'switchyard.kind': 'diffusion-sampling-loop', 'switchyard.sampler': sampler,
    'switchyard.steps': String(steps.length),
  };
  const bytes = exportOnnx(model, fn, spec, meta, { opset: o.opset });
  return { bytes, sampler, steps: steps.length, inputs: Object.keys(spec) };
}
