/**
 * Load generator for bench/serve.ts, run as a SECOND process: autocannon keep-alive connections against a
 * running server's POST /v1/predict. Prints one JSON line: requests/s, latency percentiles (ms), errors.
 * usage: node bin/run-ts.js bench/serve-load.ts URL SECONDS CONNECTIONS BODY_JSON
 */
import { createRequire } from 'node:module';

interface Result { requests: { total: number; average: number }; latency: { p50: number; p99: number }; errors: number; timeouts: number; non2xx: number }
// autocannon ships no type declarations.
const autocannon = createRequire(import.meta.url)('autocannon') as (o: Record<string, unknown>) => Promise<Result>;

const [url, seconds, connections, body] = process.argv.slice(2);
const r = await autocannon({ url: `${url}/v1/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, body, duration: Number(seconds), connections: Number(connections), pipelining: 1 });
process.stdout.write(
  JSON.stringify({
    requests: r.requests.total,
    reqPerSec: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  }) + '\n',
);
