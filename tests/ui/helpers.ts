import { writeFileSync } from 'node:fs';
import { openRegistry } from '../../src/registry/registry.ts';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { expectOk, cli } from '../cli/helpers.ts';
import { launchChromium } from '../helpers-chromium.ts';

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
  /** Opens a dashboard path in a new page and waits for its load. */
  open(path: string): Promise<Page>;
}

/** Launches chromium with a fresh profile in `profileDir` on the dashboard at `origin` (`http://127.0.0.1:PORT`). */
export async function dashboardBrowser(profileDir: string, origin: string): Promise<DashboardBrowser> {
  const ctx = await launchChromium(profileDir, VIEWPORT);
  const problems: string[] = [];
  const foreign: string[] = [];
  ctx.on('request', (r) => void (r.url().startsWith(origin) || foreign.push(r.url())));
  const open = async (path: string): Promise<Page> => {
    const page = await ctx.newPage();
    page.on('console', (m) => void (m.type() === 'error' && problems.push(`${m.type()}: ${m.text()}`)));
    page.on('pageerror', (e) => void problems.push(`pageerror: ${e.message}`));
    await page.goto(`${origin}${path}`, { waitUntil: 'load' });
    return page;
  };
  return { ctx, problems, foreign, open };
}
