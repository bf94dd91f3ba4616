/**
 * What the HTTP API hands its monitoring hook, apart from the server (no Fastify types), so the monitor's store and
 * reports, which the package's main entry exports, do not need the optional fastify package to type-check.
 */
import type { PredictResult } from './model-runner.ts';

/**
 * One answered prediction, handed to the monitoring hook (sampled).
 *
 * @example
 * const e: PredictionEvent = { id: 'b2f0…', model: 'churn', version: '3', role: 'primary', inputs: [{ age: 41 }], outputs: { predictions: ['yes'] }, latencyMs: 2.1, at: new Date().toISOString() };
 */
export interface PredictionEvent {
  /** The request id returned to the client (`id` in the body, `x-request-id`), for late labels. */
  id: string;
  model: string;
  /** The alias the version was served under (`production` of `churn@production`; absent for a run directory). */
  alias?: string;
  version: string;
  role: 'primary' | 'canary';
  inputs: unknown[];
  outputs: PredictResult;
  latencyMs: number;
  at: string;
}

/**
 * One `POST /v1/predict` request's outcome, answered or refused, handed to the monitoring hook (sampled, with the
 * same draw as its {@link PredictionEvent}). `alias`, `version` and `role` are `null` when the request was refused
 * before a version was picked (bad JSON, too many rows, rate limited, no model loaded).
 *
 * @example
 * const e: RequestEvent = { id: 'b2f0…', model: 'churn', alias: 'production', version: '3', role: 'primary', status: 400, code: 'E_BAD_INPUT', latencyMs: 0.4, rows: 1, sampleRate: 1, at: new Date().toISOString() };
 */
export interface RequestEvent {
  id: string;
  model: string;
  alias: string | null;
  version: string | null;
  role: string | null;
  /** The HTTP status answered. */
  status: number;
  /** The error's stable code (`E_BAD_JSON`, `E_MODEL_OUTPUT`, …); `null` when answered. */
  code: string | null;
  latencyMs: number;
  /** Input rows the body held (0 when it held none that could be read). */
  rows: number;
  /** The share of requests logged when this one was (each logged request stands for 1 / sampleRate). */
  sampleRate: number;
  at: string;
}
