/**
 * The OpenAPI 3.1 document of a running server, with the predict request schema derived from the served model.
 */
import type { ServedModel } from './model-runner.ts';
import { rowJsonSchema } from './schema.ts';
import { DEFAULT_GUIDANCE } from '../train/diffusion-sample.ts';

const ERROR = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message', 'hint'], properties: { code: { type: 'string' }, message: { type: 'string' }, hint: { type: 'string' } } } },
};

/**
 * The body of `POST /v1/admin/alias`: the route validates it (types strictly, no coercion) and this document
 * publishes it. The alias name rule itself is the registry's `checkAliasName`.
 *
 * @example
 * ALIAS_BODY.properties.version; // { type: 'integer', minimum: 1 }
 */
export const ALIAS_BODY = {
  type: 'object',
  required: ['version'],
  properties: {
    alias: { type: 'string', minLength: 1, maxLength: 64 },
    version: { type: 'integer', minimum: 1 },
    reason: { type: 'string', maxLength: 1000 },
  },
} as const;

function errors(...codes: number[]): Record<string, unknown> {
  const why: Record<number, string> = {
    400: 'bad request (names the row and field)',
    401: 'missing or wrong API key',
    403: 'no API keys configured',
    404: 'not found',
    413: 'body too large, or too many rows',
    429: 'rate limited (see Retry-After)',
    500: 'server error',
    503: 'not ready, or too many generations queued (see Retry-After)',
  };
  return Object.fromEntries(codes.map((c) => [String(c), { description: why[c], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]));
}

/** The body of `POST /v1/sample` (the route checks the bounds: the server's --max-sample-count and -steps). */
function sampleBody(model: ServedModel): Record<string, unknown> {
  const classes = model.classes.length ? [{ type: 'string', enum: [...model.classes] }, { type: 'integer', minimum: 0, maximum: model.classes.length - 1 }] : null;
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      count: { type: 'integer', minimum: 1, default: 16 },
      steps: { type: 'integer', minimum: 1, default: 50 },
      sampler: { type: 'string', enum: ['ddpm', 'ddim', 'euler'], description: 'default: euler for flow runs, ddim otherwise' },
      ...(classes ? { class: { oneOf: classes, description: 'default: the classes in turn' } } : {}),
      guidance: { type: 'number', minimum: 0, maximum: 100, default: DEFAULT_GUIDANCE },
      seed: { type: 'integer', minimum: 0, default: 0 },
      format: { type: 'string', enum: ['json', 'png'], default: 'json' },
    },
  };
}

/**
 * Builds the OpenAPI document for `model` (the primary version).
 *
 * @example
 * const doc = openApiDocument(router.slots.primary.model!, 'http://127.0.0.1:8080');
 * doc.paths['/v1/predict'];
 */
export function openApiDocument(model: ServedModel, serverUrl?: string): Record<string, any> {
  const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
  const paths: Record<string, unknown> = {
    '/healthz': { get: { summary: 'liveness', responses: { 200: { description: 'alive' } } } },
    '/readyz': { get: { summary: 'readiness: the model is loaded', responses: { 200: { description: 'ready' }, ...errors(503) } } },
    '/metrics': { get: { summary: 'Prometheus metrics (text format 0.0.4)', responses: { 200: { description: 'metrics', content: { 'text/plain': {} } } } } },
    '/openapi.json': { get: { summary: 'this document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    '/v1/admin/alias': {
      post: {
        summary: 'point an alias of the served model at a version (registry only); the server switches atomically',
        security: [{ bearer: [] }],
        requestBody: { required: true, ...json(ALIAS_BODY) },
        responses: { 200: { description: 'switched' }, ...errors(400, 401, 403, 429, 500) },
      },
    },
    '/v1/admin/reload': { post: { summary: 'resolve the refs again and reload what changed', security: [{ bearer: [] }], responses: { 200: { description: 'reloaded' }, ...errors(401, 403, 429) } } },
  };
  if (model.schema) {
    const probs = model.task === 'classification' ? { probabilities: { type: 'array', items: { type: 'array', items: { type: 'number' } } }, classes: { type: 'array', items: { type: 'string', enum: [...model.classes] } } } : {};
    paths['/v1/predict'] = {
      post: {
        summary: `predict with ${model.name} (${model.task})`,
        requestBody: { required: true, ...json({ $ref: '#/components/schemas/PredictRequest' }) },
        responses: {
          200: { description: 'predictions', ...json({ type: 'object', properties: { id: { type: 'string', description: 'request id, for late labels (POST /v1/feedback)' }, model: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } }, predictions: { type: 'array', items: { type: model.task === 'classification' ? 'string' : 'number' } }, ...probs } }) },
          ...errors(400, 413, 429, 500, 503),
        },
      },
    };
  } else if (model.kind === 'unet') {
    paths['/v1/sample'] = {
      post: {
        summary: `draw images from ${model.name} (a diffusion run) as one PNG grid`,
        requestBody: { required: false, ...json(sampleBody(model)) },
        responses: {
          200: {
            description: 'JSON with the PNG grid as base64 (image), or the PNG itself with "format": "png" or Accept: image/png',
            content: {
              'application/json': { schema: { type: 'object', properties: { count: { type: 'integer' }, width: { type: 'integer' }, height: { type: 'integer' }, image: { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/png' } } } },
              'image/png': {},
            },
          },
          ...errors(400, 413, 429, 500, 503),
        },
      },
    };
  } else {
    paths['/v1/generate'] = {
      post: {
        summary: `generate text with ${model.name}; Server-Sent Events (event: token, data: {"text"}) unless "stream": false`,
        requestBody: { required: true, ...json({ type: 'object', required: ['prompt'], properties: { prompt: { type: 'string' }, max_tokens: { type: 'integer', minimum: 1 }, temperature: { type: 'number', minimum: 0 }, top_k: { type: 'integer', minimum: 0 }, top_p: { type: 'number' }, seed: { type: 'integer' }, stream: { type: 'boolean', default: true } } }) },
        responses: { 200: { description: 'text/event-stream, or JSON { text, tokens } when stream is false' }, ...errors(400, 413, 429, 500, 503) },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: `switchyard serve: ${model.name}`, version: model.version },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: ERROR,
        ...(model.schema ? { PredictRequest: { type: 'object', required: ['rows'], properties: { rows: { type: 'array', minItems: 1, items: rowJsonSchema(model.schema) } } } } : {}),
      },
    },
  };
}
