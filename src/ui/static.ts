/**
 * The dashboard's static files: the charting library (uPlot), read from its installed npm package at run time,
 * and the Content-Security-Policy every response carries. Nothing is fetched from another host: the browser
 * loads uPlot from the dashboard itself, under a path holding the package's version so it may be cached for good.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SwitchyardError } from '../util/errors.ts';

/**
 * The policy of every dashboard page: scripts, styles, data, frames and forms only from the dashboard itself;
 * no inline script or style attribute, no plugins, never framed. uPlot sets element styles through the DOM, which
 * a policy without `'unsafe-inline'` allows. Frames show report files, which carry their own stricter policy
 * (`SERVED_REPORT_CSP`: sandboxed, no scripts).
 */
export const UI_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "frame-src 'self'", "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'",
].join('; ');

/** One vendored file: its URL path, bytes and content type. */
interface VendorFile {
  path: string;
  body: Buffer;
  type: string;
}

/** uPlot's browser build and style sheet, from the installed package (throws `E_DEPENDENCY` when missing). */
function uplotFiles(): VendorFile[] {
  const require = createRequire(import.meta.url);
  let pkgFile: string;
  try {
    pkgFile = require.resolve('uplot/package.json');
  } catch {
    throw new SwitchyardError('E_DEPENDENCY', 'the dashboard needs the uplot package for its charts',
      'install it: npm install uplot');
  }
  const version = (JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string }).version;
  const dist = join(dirname(pkgFile), 'dist');
  const base = `/vendor/uplot@${version}`;
  return [
    { path: `${base}/uPlot.iife.min.js`, body: readFileSync(join(dist, 'uPlot.iife.min.js')),
      type: 'text/javascript; charset=utf-8' },
    { path: `${base}/uPlot.min.css`, body: readFileSync(join(dist, 'uPlot.min.css')), type: 'text/css; charset=utf-8' },
  ];
}

/**
 * The URL paths of uPlot's script and style sheet as this dashboard serves them (version in the path).
 *
 * @example
 * const { script, style } = uplotPaths(); // '/vendor/uplot@1.6.32/uPlot.iife.min.js', '.../uPlot.min.css'
 */
export function uplotPaths(): { script: string; style: string } {
  const [script, style] = vendorFiles().map((f) => f.path);
  return { script, style };
}

let cached: VendorFile[] | undefined;
function vendorFiles(): VendorFile[] {
  cached ??= uplotFiles();
  return cached;
}

/**
 * Serves the vendored files (immutable: the version is in the path) and sets {@link UI_CSP} plus
 * `X-Content-Type-Options: nosniff` on every response of `app` that has set no policy of its own (a report
 * file keeps the report's).
 *
 * @param app the dashboard's Fastify instance
 * @example
 * registerStatic(app);
 */
export function registerStatic(app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply, payload) => {
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', UI_CSP);
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });
  for (const f of vendorFiles()) {
    app.get(f.path, (_q, reply) =>
      reply.type(f.type).header('cache-control', 'public, max-age=31536000, immutable').send(f.body));
  }
}
