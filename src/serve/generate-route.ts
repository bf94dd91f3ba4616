/**
 * `POST /v1/generate`: text generation as Server-Sent Events (or one JSON answer with `"stream": false`).
 * Generation is bounded three ways: `max_tokens` has a ceiling, at most `maxQueued` generations run or wait
 * (one more is a 503 with Retry-After), and a generation stops between decode steps when its client
 * disconnects or the server shuts down — abandoned requests never hold the model.
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { SwitchyardError } from '../util/errors.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import type { ServeMetrics } from './metrics.ts';
import type { GenerateRequest, ServedModel } from './model-runner.ts';
import type { ModelRouter } from './versions.ts';

/**
 * Options of {@link generateRoute}.
 *
 * @example
 * generateRoute(app, { router, metrics, maxTokens: 1024, maxQueued: 8 });
 */
export interface GenerateRouteOptions {
  router: ModelRouter;
  metrics: ServeMetrics;
  /** The largest `max_tokens` a request may ask for (default {@link DEFAULT_LIMITS}.maxTokens). */
  maxTokens?: number;
  /** Generations running or waiting at most (default {@link DEFAULT_LIMITS}.maxQueuedGenerations). */
  maxQueued?: number;
}

/**
 * A {@link SwitchyardError} answered with HTTP `status` (the app's error handler sends `{ error: { code, … } }`).
 *
 * @example
 * throw fail(503, 'E_NOT_READY', 'no model version is loaded', 'wait for /readyz');
 */
export function fail(status: number, code: string, message: string, hint: string): SwitchyardError & { statusCode: number } {
  return Object.assign(new SwitchyardError(code, message, hint), { statusCode: status });
}

const EXAMPLE = 'send { "prompt": "…", "max_tokens": 50 }';

type Outcome = 'done' | 'disconnected' | 'shutdown' | 'error';

/**
 * The generations (text or images) of one app: at most `maxQueued` run or wait, each is cancelled when its client
 * disconnects or the server closes, and the `generations` metrics count them by outcome.
 *
 * @example
 * const queue = generationQueue(app, serveMetrics(), 8);
 * const r = await queue.run(reply, (signal) => model.sample({ count: 4, signal }));
 */
export interface GenerationQueue {
  /** Throws 503 (`E_SHUTTING_DOWN`, or `E_BUSY` with Retry-After) when no generation may start now. */
  admit(reply: FastifyReply): void;
  /** Runs `work` with a signal aborted on disconnect or shutdown; returns its result and the outcome. */
  run<T>(reply: FastifyReply, work: (signal: AbortSignal) => Promise<T>): Promise<{ result: T; outcome: Outcome }>;
}

/**
 * The {@link GenerationQueue} of `app`, with a `preClose` hook that cancels every generation in flight.
 *
 * @example
 * const queue = generationQueue(app, metrics, DEFAULT_LIMITS.maxQueuedGenerations);
 */
export function generationQueue(app: FastifyInstance, metrics: ServeMetrics, maxQueued: number): GenerationQueue {
  const running = new Set<AbortController>();
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    for (const c of running) c.abort('shutdown');
  });
  return {
    admit(reply) {
      if (closing) throw fail(503, 'E_SHUTTING_DOWN', 'the server is shutting down', 'retry on another instance');
      if (running.size < maxQueued) return;
      metrics.generations.inc({ outcome: 'rejected' });
      reply.header('retry-after', '1');
      const busy = `${running.size} generations are running or waiting (this server's --max-queued-generations)`;
      throw fail(503, 'E_BUSY', busy, 'retry after the Retry-After seconds');
    },
    async run(reply, work) {
      const cancel = new AbortController();
      running.add(cancel);
      metrics.generationsQueued.set({}, running.size);
      // 'close' on the response before it finished: the client went away (a finished response also closes).
      const onClose = () => reply.raw.writableFinished || cancel.abort('disconnected');
      reply.raw.on('close', onClose);
      // A generation waiting in the queue or answering as one JSON object sends nothing for a while: the idle
      // timeout (for stalled connections) must not cut it. Its work is bounded by its limits and the disconnect.
      reply.raw.socket?.setTimeout(0);
      let outcome: Outcome = 'error';
      try {
        const result = await work(cancel.signal);
        outcome = cancel.signal.aborted ? (cancel.signal.reason as Outcome) : 'done';
        return { result, outcome };
      } catch (e) {
        if (cancel.signal.aborted) outcome = cancel.signal.reason as Outcome;
        throw e;
      } finally {
        reply.raw.off('close', onClose);
        running.delete(cancel);
        metrics.generationsQueued.set({}, running.size);
        metrics.generations.inc({ outcome });
      }
    },
  };
}

/**
 * Registers `POST /v1/generate` on `app`, its generations in `queue` (default: a queue of its own).
 *
 * @example
 * generateRoute(app, { router, metrics: serveMetrics(), maxTokens: 256, maxQueued: 4 });
 */
export function generateRoute(app: FastifyInstance, o: GenerateRouteOptions, queue?: GenerationQueue): void {
  const { router, metrics } = o;
  const maxTokens = o.maxTokens ?? DEFAULT_LIMITS.maxTokens;
  const jobs = queue ?? generationQueue(app, metrics, o.maxQueued ?? DEFAULT_LIMITS.maxQueuedGenerations);

  /** Runs one generation in the queue, counting its tokens. */
  const run = async (model: ServedModel, gen: GenerateRequest, reply: FastifyReply, onText?: (t: string) => void) => {
    const { result: r, outcome } = await jobs.run(reply, (signal) => model.generate({ ...gen, signal }, onText));
    metrics.generatedTokens.inc({}, r.tokens);
    return { ...r, ...(outcome === 'done' ? {} : { cancelled: outcome }) };
  };

  app.post('/v1/generate', async (req, reply) => {
    if (!router.slots.primary.model) {
      throw fail(503, 'E_NOT_READY', 'no model version is loaded', 'wait for /readyz');
    }
    const b = req.body as Record<string, unknown> | null;
    const num = (k: string, ok: (v: number) => boolean, hint: string): number | undefined => {
      const v = b?.[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !ok(v)) {
        throw fail(400, 'E_BAD_REQUEST', `'${k}': ${JSON.stringify(v)} is not valid`, hint);
      }
      return v;
    };
    if (!b || typeof b !== 'object' || typeof b.prompt !== 'string') {
      throw fail(400, 'E_BAD_REQUEST', 'the body needs a "prompt" string', EXAMPLE);
    }
    const tokensOk = (v: number) => Number.isInteger(v) && v >= 1 && v <= maxTokens;
    const tokensHint = `a whole number from 1 to ${maxTokens} (this server's --max-tokens)`;
    const gen = {
      prompt: b.prompt,
      maxTokens: num('max_tokens', tokensOk, tokensHint) ?? Math.min(64, maxTokens),
      temperature: num('temperature', (v) => v >= 0, 'a number >= 0 (0 = greedy)'),
      topK: num('top_k', (v) => Number.isInteger(v) && v >= 0, 'a whole number >= 0'),
      topP: num('top_p', (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
      seed: num('seed', Number.isInteger, 'a whole number'),
    };
    jobs.admit(reply);
    const pick = router.pick();
    if (pick.model.kind !== 'lm') {
      router.release(pick);
      const which = `${pick.model.name}@${pick.model.version}`;
      const route = pick.model.kind === 'unet' ? 'POST /v1/sample' : 'POST /v1/predict';
      throw fail(400, 'E_MODEL_KIND', `${which} is not a language model`, `use ${route}`);
    }
    const head = { model: { name: pick.model.name, version: pick.model.version } };
    if (b.stream === false) {
      try {
        return { ...head, ...(await run(pick.model, gen, reply)) };
      } finally {
        router.release(pick);
      }
    }
    const sse = new PassThrough();
    const event = (name: string, data: unknown) => sse.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache');
    reply.header('x-model-version', pick.model.version);
    event('start', head);
    run(pick.model, gen, reply, (text) => event('token', { text }))
      .then(
        (r) => event('done', { ...head, ...r }),
        (e: Error) => {
          const known = e instanceof SwitchyardError;
          const error = { code: known ? e.code : 'E_INTERNAL', message: e.message, hint: known ? e.hint : '' };
          event('error', { error });
        },
      )
      .finally(() => {
        router.release(pick);
        sse.end();
      });
    return reply.send(sse);
  });
}
