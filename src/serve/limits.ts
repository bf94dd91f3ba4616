/**
 * What one client may cost the server: connection timeouts (a slow or silent client is cut off instead of
 * holding a socket), rows per predict request, tokens per generation and queued generations. Every limit has
 * a default here, a `serve` flag and an `AppOptions` field; the defaults are documented in docs/guide-ship.md.
 */
import type { ServerOptions } from 'node:http';
import type { FastifyServerOptions } from 'fastify';
import { SwitchyardError } from '../util/errors.ts';
import type { PredictResult } from './model-runner.ts';

/**
 * Connection timeouts, in ms (0 = off, which no public server should use).
 *
 * @example
 * const t: ServerTimeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000, idleMs: 60_000 };
 */
export interface ServerTimeouts {
  /** The whole request head (request line and headers) must arrive within this (Node `headersTimeout`). */
  headersMs?: number;
  /** The whole request, head and body, must arrive within this (Node `requestTimeout`); the answer may take longer. */
  requestMs?: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveMs?: number;
  /** A connection on which nothing moves either way for this long is closed (Node socket timeout). */
  idleMs?: number;
}

/**
 * The per-request and per-server work limits.
 *
 * @example
 * const l: ServerLimits = { maxRows: 10_000, maxTokens: 1024, timeouts: { headersMs: 10_000 } };
 */
export interface ServerLimits {
  /** Rows in one `/v1/predict` request at most (413 above). */
  maxRows?: number;
  /** The largest `max_tokens` a `/v1/generate` request may ask for (400 above). */
  maxTokens?: number;
  /** Generations (text or images) running or waiting at most; one more is answered 503 with Retry-After. */
  maxQueuedGenerations?: number;
  /** Images one `/v1/sample` request may ask for at most (400 above). */
  maxSampleCount?: number;
  /** Denoising steps one `/v1/sample` request may ask for at most (400 above). */
  maxSampleSteps?: number;
  timeouts?: ServerTimeouts;
}

/**
 * The defaults of every limit (`switchyard serve --help` shows the same numbers).
 *
 * @example
 * DEFAULT_LIMITS.maxRows; // 10000
 */
export const DEFAULT_LIMITS = {
  maxRows: 10_000,
  maxTokens: 1024,
  maxQueuedGenerations: 8,
  maxSampleCount: 64,
  maxSampleSteps: 250,
  timeouts: { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000, idleMs: 60_000 },
} as const satisfies ServerLimits;

/**
 * The Fastify options that carry the timeouts, and Node's `http.Server` options among them.
 *
 * @example
 * const o: TimeoutOptions = timeoutOptions({ headersMs: 200 });
 */
export type TimeoutOptions = Pick<FastifyServerOptions, 'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout'> & {
  http: ServerOptions;
};

/**
 * The Fastify (and Node `http.Server`) options that enforce the timeouts. Node checks the head and request
 * timeouts on a timer; its period is a quarter of the shorter one (at most 1 s), so a limit is enforced within
 * 25% of its value. Throws `E_USAGE` when the head timeout exceeds the request timeout (Node refuses that).
 *
 * @example
 * const app = Fastify({ ...timeoutOptions({ headersMs: 200, requestMs: 400 }), logger: false });
 */
export function timeoutOptions(t: ServerTimeouts = {}): TimeoutOptions {
  const d = DEFAULT_LIMITS.timeouts;
  const headersMs = t.headersMs ?? d.headersMs;
  const requestMs = t.requestMs ?? d.requestMs;
  if (headersMs > 0 && requestMs > 0 && headersMs > requestMs) {
    const what = `the headers timeout (${headersMs} ms) is longer than the request timeout (${requestMs} ms)`;
    const hint = 'the request timeout (--request-timeout-ms) covers the head too: make it >= --headers-timeout-ms';
    throw new SwitchyardError('E_USAGE', what, hint);
  }
  const checked = [headersMs, requestMs].filter((ms) => ms > 0);
  const interval = Math.max(1, Math.min(1000, Math.floor(Math.min(...checked, 4000) / 4)));
  return {
    connectionTimeout: t.idleMs ?? d.idleMs,
    keepAliveTimeout: t.keepAliveMs ?? d.keepAliveMs,
    requestTimeout: requestMs,
    http: { headersTimeout: headersMs, requestTimeout: requestMs, connectionsCheckingInterval: interval },
  };
}

/**
 * Throws a 500 `E_MODEL_OUTPUT` when a prediction holds a non-finite number (NaN or infinite probabilities or
 * values): such an answer is the model's failure, never a 200, and the rollback guard counts it.
 *
 * @example
 * checkFiniteResult({ predictions: ['a'], probabilities: [[NaN, NaN]] }, 'churn@3'); // throws E_MODEL_OUTPUT
 */
export function checkFiniteResult(r: PredictResult, model: string): void {
  const hint = 'the model version is broken (NaN or infinite weights or activations): roll it back or retrain';
  const bad = (row: number, what: string) => {
    const message = `${model} produced a non-finite ${what} for rows[${row}]`;
    return Object.assign(new SwitchyardError('E_MODEL_OUTPUT', message, hint, 1), { statusCode: 500 });
  };
  r.predictions.forEach((p, i) => {
    if (typeof p === 'number' && !Number.isFinite(p)) throw bad(i, 'prediction');
  });
  r.probabilities?.forEach((row, i) => {
    if (row.some((v) => !Number.isFinite(v))) throw bad(i, 'probability');
  });
}
