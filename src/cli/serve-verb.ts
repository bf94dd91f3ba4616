import { SERVE_RANGES } from '../serve/options.ts';
import { MAX_IMAGE_PIXELS_FLAG } from './train-verbs.ts';
import { SwitchyardError } from '../util/errors.ts';
import { DEFAULT_CANARY_MIN_DISTINCT, DEFAULT_MONITOR_MAX_WINDOW } from '../monitor/monitor.ts';
import { DEFAULT_LIMITS } from '../serve/limits.ts';
import { startServer } from '../serve/server.ts';
import { isModelRef } from '../registry/names.ts';
import { COMMON_FLAGS, DEVICE_FLAG, formatHelp, parseArgs, THREADS_FLAG } from './args.ts';
import { emitJson } from './output.ts';

/** Flags of `switchyard serve`. */
export const SERVE_SPEC = {
  ...COMMON_FLAGS,
  model: { type: 'string', required: true, help: 'NAME@ALIAS (with --registry), or a run directory / ONNX file' },
  registry: { type: 'string', help: 'registry directory or postgres:// URL (default: $SWITCHYARD_REGISTRY when --model is NAME@ALIAS or --monitor is on)' },
  host: { type: 'string', default: '127.0.0.1', help: 'address to listen on' },
  port: { type: 'number', ...SERVE_RANGES.port, default: 8080, help: 'port (0 picks a free one)' },
  'api-keys': { type: 'string', help: 'JSON keys file { "keys": [{ "name", "sha256" }] } for state-changing routes' },
  'max-batch': { type: 'number', ...SERVE_RANGES.maxBatch, default: 64, help: 'rows per ONNX Runtime call at most (micro-batching)' },
  'batch-wait-ms': { type: 'number', ...SERVE_RANGES.batchWaitMs, default: 2, help: 'longest wait for a batch to fill, ms' },
  threads: { ...THREADS_FLAG, default: 1, help: 'ONNX Runtime intra-op threads per served model' },
  device: DEVICE_FLAG,
  canary: { type: 'string', help: 'a second ref (e.g. NAME@canary) that takes --canary-weight of the traffic' },
  'canary-weight': { type: 'number', ...SERVE_RANGES.canaryWeight, default: 0.1, help: 'share of requests sent to the canary, 0..1' },
  shadow: { type: 'string', help: 'a ref that sees mirrored traffic; its answers are compared, not returned' },
  'max-error-rate': { type: 'number', ...SERVE_RANGES.maxErrorRate, default: 0.05, help: 'roll the canary back above this server-error rate' },
  'max-p99-ms': { type: 'number', ...SERVE_RANGES.maxP99Ms, default: 0, help: 'roll the canary back above this p99 latency (0 = off)' },
  'rollback-min-requests': { type: 'number', ...SERVE_RANGES.minRequests, default: 20, help: 'canary requests before the rollback rules judge' },
  'rollback-primary': { type: 'boolean', help: 'the rollback rules also watch the primary: a NAME@ALIAS version that breaks them has its alias moved back and the previous version served' },
  'rate-limit': { type: 'number', ...SERVE_RANGES.rate, default: 0, help: 'requests/s per API key or client IP (0 = off)' },
  'rate-burst': { type: 'number', ...SERVE_RANGES.burst, help: 'token-bucket size (default: the rate)' },
  'body-limit': { type: 'number', ...SERVE_RANGES.bodyLimit, default: 1048576, help: 'largest request body, bytes' },
  'max-rows': {
    type: 'number', default: DEFAULT_LIMITS.maxRows, ...SERVE_RANGES.maxRows,
    help: 'rows per /v1/predict request at most (413 above)',
  },
  'max-tokens': {
    type: 'number', default: DEFAULT_LIMITS.maxTokens, ...SERVE_RANGES.maxTokens,
    help: 'the largest max_tokens a /v1/generate request may ask for',
  },
  'max-queued-generations': {
    type: 'number', default: DEFAULT_LIMITS.maxQueuedGenerations, ...SERVE_RANGES.maxQueuedGenerations,
    help: 'generations running or waiting at most (503 with Retry-After above)',
  },
  'max-sample-count': {
    type: 'number', default: DEFAULT_LIMITS.maxSampleCount, ...SERVE_RANGES.maxSampleCount,
    help: 'images one /v1/sample request may ask for at most (diffusion runs)',
  },
  'max-sample-steps': {
    type: 'number', default: DEFAULT_LIMITS.maxSampleSteps, ...SERVE_RANGES.maxSampleSteps,
    help: 'denoising steps one /v1/sample request may ask for at most',
  },
  'max-image-pixels': { ...MAX_IMAGE_PIXELS_FLAG, help: 'refuse an image in a /v1/predict request of more pixels than this, before decoding it' },
  'headers-timeout-ms': {
    type: 'number', default: DEFAULT_LIMITS.timeouts.headersMs, ...SERVE_RANGES.headersMs,
    help: 'a request head must arrive within this, ms (408; 0 = off)',
  },
  'request-timeout-ms': {
    type: 'number', default: DEFAULT_LIMITS.timeouts.requestMs, ...SERVE_RANGES.requestMs,
    help: 'a whole request (head and body) must arrive within this, ms (408; 0 = off)',
  },
  'keep-alive-timeout-ms': {
    type: 'number', default: DEFAULT_LIMITS.timeouts.keepAliveMs, ...SERVE_RANGES.keepAliveMs,
    help: 'an idle keep-alive connection is closed after this, ms',
  },
  'idle-timeout-ms': {
    type: 'number', default: DEFAULT_LIMITS.timeouts.idleMs, ...SERVE_RANGES.idleMs,
    help: 'a connection with no traffic either way is closed after this, ms (0 = off; generations exempt)',
  },
  'unknown-fields': { type: 'string', default: 'reject', help: 'reject | ignore fields the model does not know' },
  'poll-ms': { type: 'number', ...SERVE_RANGES.pollMs, default: 1000, help: 'how often aliases are re-resolved (0 = never)' },
  seed: { type: 'number', ...SERVE_RANGES.seed, default: 0, help: 'seed of the canary split and hook sampling' },
  monitor: { type: 'boolean', help: 'log sampled predictions, watch drift, take feedback, fire alerts (needs --registry)' },
  reference: { type: 'string', help: 'reference (training) data for drift (default: the data in the version lineage)' },
  'sample-rate': { type: 'number', ...SERVE_RANGES.sampleRate, default: 1, help: 'share of predictions logged by the monitor, 0..1' },
  alert: { type: 'list', help: "alert rule(s) 'METRIC OP THRESHOLD over WINDOW', e.g. 'drift.share > 0.3 over 500 predictions'" },
  'alert-webhook': { type: 'string', help: 'URL that receives a JSON POST when an alert fires' },
  'canary-drift': { type: 'number', ...SERVE_RANGES.canaryDrift, default: 0.5, help: 'roll the canary back when this share of its columns drifts' },
  'canary-drift-min-rows': {
    type: 'number', ...SERVE_RANGES.canaryDriftMinRows,
    help: 'canary rows the drift window needs before drift may roll it back (default: the window, 200)',
  },
  'canary-drift-min-distinct': {
    type: 'number', default: DEFAULT_CANARY_MIN_DISTINCT, ...SERVE_RANGES.canaryDriftMinDistinct,
    help: 'distinct canary input rows the drift window needs (a flood of one row cannot pull the canary)',
  },
  'monitor-max-window': {
    type: 'number', default: DEFAULT_MONITOR_MAX_WINDOW, ...SERVE_RANGES.monitorMaxWindow,
    help: 'rows one GET /v1/monitor reads at most',
  },
} as const;

/**
 * The registry `serve` opens: `--registry`, else `$SWITCHYARD_REGISTRY` when the model is a `NAME@ALIAS`
 * reference or monitoring (which lives in the registry database) is on; a run directory needs none.
 *
 * @example
 * serveRegistry(undefined, 'churn@production', false, { SWITCHYARD_REGISTRY: 'registry' }); // 'registry'
 * serveRegistry(undefined, 'runs/churn', false, { SWITCHYARD_REGISTRY: 'registry' });       // undefined
 */
export function serveRegistry(flag: string | undefined, model: string, monitor: boolean, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag) return flag;
  return isModelRef(model) || monitor ? env.SWITCHYARD_REGISTRY || undefined : undefined;
}

/** `switchyard serve`: serves a model over HTTP until SIGTERM/SIGINT, then drains and exits 0. */
export async function serveVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, SERVE_SPEC, 'serve');
  if (a.help) return void process.stdout.write(formatHelp('serve', 'Serve a model over HTTP: predict, generate (SSE), health, metrics, OpenAPI; canary, shadow and automatic rollback.', SERVE_SPEC)), 0;
  const unknown = a['unknown-fields'];
  if (unknown !== 'reject' && unknown !== 'ignore') throw new SwitchyardError('E_USAGE', `--unknown-fields must be reject or ignore, got '${unknown}'`, 'e.g. --unknown-fields ignore');
  const weight = a['canary-weight'];
  const monitorOn = Boolean(a.monitor || a.reference || a.alert.length || a['alert-webhook']);
  const server = await startServer({
    model: a.model,
    registry: serveRegistry(a.registry, a.model, monitorOn),
    host: a.host,
    port: a.port,
    apiKeys: a['api-keys'],
    canary: a.canary,
    canaryWeight: weight,
    shadow: a.shadow,
    rateLimit: a['rate-limit'] > 0 ? { rate: a['rate-limit'], burst: a['rate-burst'] } : undefined,
    bodyLimit: a['body-limit'],
    limits: {
      maxRows: a['max-rows'],
      maxTokens: a['max-tokens'],
      maxQueuedGenerations: a['max-queued-generations'],
      maxSampleCount: a['max-sample-count'],
      maxSampleSteps: a['max-sample-steps'],
      timeouts: {
        headersMs: a['headers-timeout-ms'],
        requestMs: a['request-timeout-ms'],
        keepAliveMs: a['keep-alive-timeout-ms'],
        idleMs: a['idle-timeout-ms'],
      },
    },
    pollMs: a['poll-ms'],
    seed: a.seed,
    load: {
      maxBatch: a['max-batch'], batchWaitMs: a['batch-wait-ms'], threads: a.threads, device: a.device,
      unknownFields: unknown, maxImagePixels: a['max-image-pixels'],
    },
    rollback: { maxErrorRate: a['max-error-rate'], maxP99Ms: a['max-p99-ms'], minRequests: a['rollback-min-requests'], primary: a['rollback-primary'] },
    log: a.quiet ? () => {} : undefined,
    sampleRate: a['sample-rate'],
    monitor: monitorOn
      ? {
          reference: a.reference,
          rules: a.alert,
          webhook: a['alert-webhook'],
          maxWindow: a['monitor-max-window'],
          canary: {
            threshold: a['canary-drift'],
            minRows: a['canary-drift-min-rows'],
            minDistinct: a['canary-drift-min-distinct'],
          },
        }
      : undefined,
  });
  const m = server.router.slots.primary.model!;
  if (a.json) emitJson({ ok: true, url: server.url, port: server.port, model: m.name, version: m.version, kind: m.kind });
  else process.stdout.write(`serving ${m.name}@${m.version} (${m.kind}) at ${server.url}\n`);
  await server.closed;
  return 0;
}
