/**
 * `POST /v1/sample`: images drawn from a served diffusion run, answered as a PNG grid (base64 in JSON, or the
 * PNG itself with `"format": "png"` or `Accept: image/png`). Bounded like generation: `count` and `steps` have
 * ceilings (the server's `--max-sample-count` and `--max-sample-steps`), draws share the generation queue, and a
 * draw stops between denoising steps when its client disconnects or the server shuts down.
 */
import type { FastifyInstance } from 'fastify';
import { imageGrid } from '../data/images/grid.ts';
import { encodePng } from '../data/images/image.ts';
import { SAMPLE_RANGES, type Sampler } from '../train/diffusion-sample.ts';
import { SwitchyardError } from '../util/errors.ts';
import { inRange, type NumberRange, rangeText } from '../util/ranges.ts';
import { fail, type GenerationQueue } from './generate-route.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import type { ModelRouter } from './versions.ts';

/**
 * Options of {@link sampleRoute}.
 *
 * @example
 * sampleRoute(app, { router, maxCount: 64, maxSteps: 250 }, queue);
 */
export interface SampleRouteOptions {
  router: ModelRouter;
  /** Images per request at most (default {@link DEFAULT_LIMITS}.maxSampleCount). */
  maxCount?: number;
  /** Denoising steps per request at most (default {@link DEFAULT_LIMITS}.maxSampleSteps). */
  maxSteps?: number;
}

const SAMPLERS: readonly Sampler[] = ['ddpm', 'ddim', 'euler'];
const FIELDS = ['count', 'steps', 'sampler', 'class', 'guidance', 'seed', 'format'];

/** A 400 `E_BAD_REQUEST`. */
const bad = (message: string, hint: string) => fail(400, 'E_BAD_REQUEST', message, hint);

/** The draw a `/v1/sample` body asks for, every field checked (a 400 naming the field otherwise). */
function parseSampleBody(b: Record<string, unknown>, classes: readonly string[], maxCount: number, maxSteps: number) {
  if (typeof b !== 'object' || Array.isArray(b)) {
    throw bad('the body must be a JSON object', 'send e.g. { "count": 4, "steps": 25, "class": 3 }');
  }
  const num = (field: string, range: NumberRange, hint: string): number | undefined => {
    const v = b[field];
    if (v === undefined) return undefined;
    if (typeof v === 'number' && inRange(range, v)) return v;
    throw bad(`"${field}": ${JSON.stringify(v)} is not ${rangeText(range)}`, hint);
  };
  const stray = Object.keys(b).find((k) => !FIELDS.includes(k));
  if (stray !== undefined) throw bad(`unknown field "${stray}"`, `fields are: ${FIELDS.join(', ')}`);
  if (b.sampler !== undefined && !SAMPLERS.includes(b.sampler as Sampler)) {
    const what = `"sampler": ${JSON.stringify(b.sampler)} is not one of ${SAMPLERS.join(', ')}`;
    throw bad(what, 'ddpm or ddim for ddpm/v runs, euler for flow runs');
  }
  if (b.format !== undefined && b.format !== 'json' && b.format !== 'png') {
    const what = `"format": ${JSON.stringify(b.format)} is not "json" or "png"`;
    throw bad(what, 'json (default): base64 PNG in JSON; png: the PNG bytes');
  }
  // A class by name (one of the run's class names) or by id.
  const byName = typeof b.class === 'string' ? classes.indexOf(b.class) : undefined;
  if (byName === -1) {
    const what = `"class": ${JSON.stringify(b.class)} is not a class of this run`;
    throw bad(what, `classes are: ${classes.join(', ') || 'none (unconditional run)'}`);
  }
  const bounded = (field: 'count' | 'steps', max: number, fallback: number) => {
    const hint = `at most ${max} (this server's --max-sample-${field})`;
    return num(field, { min: 1, max, integer: true }, hint) ?? Math.min(fallback, max);
  };
  return {
    count: bounded('count', maxCount, 16),
    steps: bounded('steps', maxSteps, 50),
    sampler: b.sampler as Sampler | undefined,
    classId: byName ?? num('class', SAMPLE_RANGES.classId, 'a class id (or name) of the run'),
    guidance: num('guidance', SAMPLE_RANGES.guidance, '1 is no guidance; e.g. 3'),
    seed: num('seed', SAMPLE_RANGES.seed, 'a whole number'),
  };
}

/**
 * Registers `POST /v1/sample` on `app`; its draws run in `queue` with the text generations.
 *
 * @example
 * sampleRoute(app, { router, maxCount: 16, maxSteps: 100 }, generationQueue(app, metrics, 8));
 */
export function sampleRoute(app: FastifyInstance, o: SampleRouteOptions, queue: GenerationQueue): void {
  const maxCount = o.maxCount ?? DEFAULT_LIMITS.maxSampleCount;
  const maxSteps = o.maxSteps ?? DEFAULT_LIMITS.maxSampleSteps;
  app.post('/v1/sample', async (req, reply) => {
    const model = o.router.slots.primary.model;
    if (!model) throw fail(503, 'E_NOT_READY', 'no model version is loaded', 'wait for /readyz');
    if (model.kind !== 'unet') {
      const what = `${model.name}@${model.version} is not a diffusion model`;
      throw fail(400, 'E_MODEL_KIND', what, model.kind === 'lm' ? 'use POST /v1/generate' : 'use POST /v1/predict');
    }
    const b = (req.body ?? {}) as Record<string, unknown>;
    const draw = parseSampleBody(b, model.classes, maxCount, maxSteps);
    queue.admit(reply);
    const pick = o.router.pick();
    try {
      const work = (signal: AbortSignal) => pick.model.sample({ ...draw, signal });
      const { result: batch } = await queue.run(reply, work).catch((e) => {
        // Cancelled: the client is gone (nobody reads the answer) or the server is closing.
        const cancelled = e instanceof SwitchyardError && e.code === 'E_CANCELLED';
        throw cancelled ? fail(503, e.code, e.message, 'retry on another instance') : e;
      });
      const grid = imageGrid(batch, Math.ceil(Math.sqrt(batch.n)), { range: [-1, 1] });
      const png = Buffer.from(encodePng(grid));
      reply.header('x-model-version', pick.model.version);
      if (b.format === 'png' || (b.format === undefined && /\bimage\/png\b/.test(req.headers.accept ?? ''))) {
        return reply.header('content-type', 'image/png').send(png);
      }
      const head = { model: { name: pick.model.name, version: pick.model.version } };
      return { ...head, count: batch.n, width: grid.width, height: grid.height, image: png.toString('base64') };
    } finally {
      o.router.release(pick);
    }
  });
}
