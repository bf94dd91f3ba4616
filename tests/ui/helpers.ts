import { mkdirSync, writeFileSync } from 'node:fs';
import { openRegistry } from '../../src/registry/registry.ts';
import { reportId } from '../../src/ui/reports.ts';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { expectOk, cli } from '../cli/helpers.ts';
import { launchChromium } from '../helpers-chromium.ts';
import { openPage } from './page-checks.ts';

/** Writes a tiny two-feature CSV and trains a real tabular run `runsDir/id` with the CLI (a few epochs). */
export function trainTinyRun(runsDir: string, id: string, epochs = 3): string {
  const csv = join(runsDir, `${id}.csv`);
  const rows = Array.from({ length: 40 }, (_, i) => `${i % 7},${(i % 3) + 0.5},${i % 2 ? 'z' : 'x'}`);
  writeFileSync(csv, ['a,b,y', ...rows].join('\n') + '\n');
  const out = join(runsDir, id);
  expectOk(cli(['train', '--data', csv, '--target', 'y', '--epochs', String(epochs), '--out', out, '--quiet', '--json']));
  return out;
}

/** Registers each run directory in `froms` as the next version of model `tiny` in a new registry at `registry`. */
export async function registerTinyVersions(registry: string, froms: [from: string, reason: string][]): Promise<void> {
  const reg = await openRegistry(registry);
  try {
    for (const [from, reason] of froms) await reg.register({ name: 'tiny', from, reason });
  } finally {
    await reg.close();
  }
}

/** The browser tests' viewport. */
export const VIEWPORT = { width: 1200, height: 900 };

/** The element is visible and its box lies wholly inside the viewport. */
export async function expectInViewport(el: Locator): Promise<void> {
  await expect(el.isVisible()).resolves.toBe(true);
  const b = (await el.boundingBox())!;
  expect(b.width).toBeGreaterThan(0);
  expect(b.height).toBeGreaterThan(0);
  expect(b.x).toBeGreaterThanOrEqual(0);
  expect(b.y).toBeGreaterThanOrEqual(0);
  expect(b.x + b.width).toBeLessThanOrEqual(VIEWPORT.width);
  expect(b.y + b.height).toBeLessThanOrEqual(VIEWPORT.height);
}

/** A chromium on the dashboard at `origin` that collects console errors and requests to any other host. */
export interface DashboardBrowser {
  ctx: BrowserContext;
  /** Console errors and page errors of every page opened. */
  problems: string[];
  /** Requests to anything but the dashboard. */
  foreign: string[];
  /** Opens a dashboard path in a new page and waits for its load (and its charts: `openPage`). */
  open(path: string): Promise<Page>;
}

/**
 * Launches chromium with a fresh profile in `profileDir` on the dashboard at `origin` (`http://127.0.0.1:PORT`);
 * `bypassCSP` for tests that inject a script (axe-core) into pages whose policy allows only their own.
 */
export async function dashboardBrowser(
  profileDir: string, origin: string, opts: { bypassCSP?: boolean } = {},
): Promise<DashboardBrowser> {
  const ctx = await launchChromium(profileDir, VIEWPORT, opts);
  const problems: string[] = [];
  const foreign: string[] = [];
  ctx.on('request', (r) => void (r.url().startsWith(origin) || foreign.push(r.url())));
  const open = (path: string): Promise<Page> => openPage(ctx, `${origin}${path}`, problems);
  return { ctx, problems, foreign, open };
}

/**
 * Trains a real tiny MoE language model `runsDir/id` with the CLI on the State of the Union corpus: 4 experts,
 * top-2, capacity dispatch (so dropped tokens are recorded), a validation record every 5 of 20 steps.
 */
export function trainTinyMoeRun(runsDir: string, id: string): string {
  const out = join(runsDir, id);
  const model = ['--model', 'gpt', '--preset', 'tiny', '--d-model', '32', '--layers', '2', '--heads', '2', '--context', '32'];
  const moe = ['--experts', '4', '--top-k', '2', '--dispatch', 'capacity', '--capacity-factor', '1'];
  const run = ['--data', 'sotu', '--steps', '20', '--eval-every', '5', '--batch-size', '8', '--eval-tokens', '1024'];
  expectOk(cli(['train', ...model, ...moe, ...run, '--out', out, '--quiet', '--json']));
  return out;
}

/**
 * The dashboard's pages every browser check visits (axe, keyboard, layout): add a page here in one line. Paths
 * name the runs of {@link trainUiFixture}, or with `world` what the world of `world.ts` holds (its run `run-0`
 * and its reports, version `tiny@1` and the incident its traffic opened).
 */
export const UI_PAGES: { name: string; path: string; world?: true }[] = [
  { name: 'runs', path: '/' },
  { name: 'runs-paged', path: '/?sort=steps&order=desc&limit=1&offset=1' },
  { name: 'run', path: '/runs/tiny' },
  { name: 'moe-run', path: '/runs/moe' },
  { name: 'compare', path: '/compare?runs=tiny,small' },
  { name: 'registry', path: '/registry' },
  { name: 'registry-model-paged', path: '/registry/tiny?limit=1&offset=1' },
  { name: 'run-with-reports', path: '/runs/run-0', world: true },
  { name: 'reports', path: '/reports', world: true },
  { name: 'report', path: `/reports/${reportId('eval/eval.json')}`, world: true },
  { name: 'version', path: '/registry/tiny/1', world: true },
  { name: 'live', path: '/live', world: true },
];

/**
 * The runs and registry {@link UI_PAGES} need, in `dir`: tabular runs `tiny` (3 epochs) and `small` (5), the MoE
 * run `moe`, and a registry with `tiny` and `small` as versions 1 and 2 of model `tiny`.
 */
export async function trainUiFixture(dir: string): Promise<{ runs: string; registry: string }> {
  const runs = join(dir, 'runs');
  mkdirSync(runs);
  trainTinyRun(runs, 'tiny');
  trainTinyRun(runs, 'small', 5);
  trainTinyMoeRun(runs, 'moe');
  const registry = join(dir, 'registry');
  await registerTinyVersions(registry, [[join(runs, 'tiny'), 'first'], [join(runs, 'small'), 'longer training']]);
  return { runs, registry };
}
