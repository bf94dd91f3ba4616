import { randomBytes } from 'node:crypto';
import { isLoopback, startUi, UI_COMPARE_MAX, UI_PAGE_SIZE, UI_RANGES } from '../ui/server.ts';
import { COMMON_FLAGS, formatHelp, parseArgs } from './args.ts';
import { emitJson } from './output.ts';

/** Flags of `switchyard ui`. */
export const UI_SPEC = {
  ...COMMON_FLAGS,
  runs: { type: 'string', default: 'runs', help: 'the folder run directories are written to' },
  registry: { type: 'string', help: 'registry directory or postgres:// URL (default: $SWITCHYARD_REGISTRY)' },
  reports: {
    type: 'string', default: 'reports', help: 'the folder reports are written to (audit, eval, compress, drift, …)',
  },
  host: { type: 'string', default: '127.0.0.1', help: 'address; beyond loopback the URL has a one-time token' },
  port: { type: 'number', ...UI_RANGES.port, default: 8090, help: 'port (0 picks a free one)' },
  'watch-interval-ms': {
    type: 'number', ...UI_RANGES.watchIntervalMs, default: 250,
    help: 'how often a live page checks metrics.jsonl for new lines, ms',
  },
  'page-size': {
    type: 'number', ...UI_RANGES.pageSize, default: UI_PAGE_SIZE,
    help: 'rows per page of the runs table and of a model\'s versions and history',
  },
  'compare-max': {
    type: 'number', ...UI_RANGES.compareMax, default: UI_COMPARE_MAX, help: 'the most runs one compare page takes',
  },
} as const;

/** `switchyard ui`: serves the dashboard until SIGTERM/SIGINT. */
export async function uiVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, UI_SPEC, 'ui');
  const summary = 'A local dashboard: runs with live curves, the registry with promote and rollback.';
  if (a.help) return void process.stdout.write(formatHelp('ui', summary, UI_SPEC)), 0;
  const token = isLoopback(a.host) ? undefined : randomBytes(18).toString('base64url');
  const ui = await startUi({
    runs: a.runs,
    reports: a.reports,
    registry: a.registry ?? (process.env.SWITCHYARD_REGISTRY || undefined),
    host: a.host,
    port: a.port,
    token,
    watchIntervalMs: a['watch-interval-ms'],
    pageSize: a['page-size'],
    compareMax: a['compare-max'],
  });
  if (a.json) emitJson({ ok: true, url: ui.url, port: ui.port });
  else process.stdout.write(`dashboard at ${ui.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await ui.close();
  return 0;
}
