/**
 * The ranges of `startServer`'s numeric options and the shape of its `host`, checked before anything loads,
 * so a library caller gets the same one-line `E_USAGE` error as `switchyard serve`.
 */
import { isIP } from 'node:net';
import { MAX_IMAGE_PIXELS_RANGE } from '../data/images/image.ts';
import { SAMPLE_RANGES } from '../train/diffusion-sample.ts';
import { SwitchyardError } from '../util/errors.ts';
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import type { ServerOptions } from './server.ts';

/**
 * Ranges of the numeric server options (nested `load`, `rollback` and `rateLimit` options flattened), each with
 * the `switchyard serve` flag that sets it; the CLI's flag spec spreads them in.
 *
 * @example
 * const spec = { 'max-batch': { type: 'number', default: 64, ...SERVE_RANGES.maxBatch, help: 'rows per call' } };
 */
export const SERVE_RANGES = {
  port: { flag: '--port', min: 0, max: 65535, integer: true },
  maxBatch: { flag: '--max-batch', min: 1, max: 65536, integer: true },
  batchWaitMs: { flag: '--batch-wait-ms', min: 0, max: 60_000 },
  threads: COMMON_RANGES.threads,
  canaryWeight: { flag: '--canary-weight', min: 0, max: 1 },
  maxErrorRate: { flag: '--max-error-rate', min: 0, max: 1 },
  maxP99Ms: { flag: '--max-p99-ms', min: 0 },
  minRequests: { flag: '--rollback-min-requests', min: 1, integer: true },
  rate: { flag: '--rate-limit', min: 0 },
  burst: { flag: '--rate-burst', min: 1 },
  bodyLimit: { flag: '--body-limit', min: 1, max: 1 << 30, integer: true },
  pollMs: { flag: '--poll-ms', min: 0, integer: true },
  seed: COMMON_RANGES.seed,
  sampleRate: { flag: '--sample-rate', above: 0, max: 1 },
  canaryDrift: { flag: '--canary-drift', above: 0, max: 1 },
  canaryDriftMinRows: { flag: '--canary-drift-min-rows', min: 2, integer: true },
  canaryDriftMinDistinct: { flag: '--canary-drift-min-distinct', min: 1, integer: true },
  monitorMaxWindow: { flag: '--monitor-max-window', min: 1, integer: true },
  maxRows: { flag: '--max-rows', min: 1, integer: true },
  maxTokens: { flag: '--max-tokens', min: 1, integer: true },
  maxQueuedGenerations: { flag: '--max-queued-generations', min: 1, integer: true },
  maxSampleCount: { flag: '--max-sample-count', min: 1, max: SAMPLE_RANGES.count.max, integer: true },
  maxSampleSteps: { flag: '--max-sample-steps', min: 1, max: SAMPLE_RANGES.steps.max, integer: true },
  maxImagePixels: MAX_IMAGE_PIXELS_RANGE,
  headersMs: { flag: '--headers-timeout-ms', min: 0, integer: true },
  requestMs: { flag: '--request-timeout-ms', min: 0, integer: true },
  keepAliveMs: { flag: '--keep-alive-timeout-ms', min: 1, integer: true },
  idleMs: { flag: '--idle-timeout-ms', min: 0, integer: true },
} as const;

/** An IP address, or a host name of dot-separated labels (letters, digits, inner hyphens; RFC 1123). */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/**
 * Throws `E_USAGE` when `host` is neither an IP address nor a host name.
 *
 * @param host the address to listen on (`--host`)
 * @example
 * checkHost('0.0.0.0');     // ok
 * checkHost('not a host');  // throws E_USAGE
 */
export function checkHost(host: string): void {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) || HOST_NAME.test(bare)) return;
  throw new SwitchyardError('E_USAGE', `--host '${host}' is not an IP address or a host name`, 'e.g. --host 127.0.0.1, --host 0.0.0.0 or --host localhost');
}

/**
 * Checks every numeric option of {@link ServerOptions} against {@link SERVE_RANGES} and the host's shape.
 *
 * @param o the options `startServer` received
 * @example
 * checkServeOptions({ model: 'runs/x', load: { maxBatch: 0 } }); // throws: --max-batch expects a whole number >= 1 ...
 */
export function checkServeOptions(o: ServerOptions): void {
  const canary = o.monitor?.canary;
  const drift = { canaryDrift: canary?.threshold, canaryDriftMinRows: canary?.minRows, canaryDriftMinDistinct: canary?.minDistinct };
  const limits = { ...o.limits, ...o.limits?.timeouts, monitorMaxWindow: o.monitor?.maxWindow };
  checkRanges({ ...o, ...o.load, ...o.rollback, ...o.rateLimit, ...drift, ...limits }, SERVE_RANGES);
  if (o.host !== undefined) checkHost(o.host);
}
