/**
 * Every dashboard page of `UI_PAGES` in chromium: no serious or critical axe-core violation (colour contrast
 * included), laid-out elements visible inside the viewport's width and not overlapping, Tab visiting every
 * control in document order with a visible focus ring, and Enter on a focused Promote button promoting.
 * Screenshots are kept in test-artifacts/ui/ (git-ignored).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../src/registry/registry.ts';
import { startUi, type RunningUi } from '../../src/ui/server.ts';
import { ROOT, tmp } from '../cli/helpers.ts';
import { CHROMIUM, HAVE_CHROMIUM, launchChromium } from '../helpers-chromium.ts';
import { trainUiFixture, UI_PAGES } from './helpers.ts';
import { axeViolations, layoutProblems, openPage, tabThrough } from './page-checks.ts';

if (!HAVE_CHROMIUM) console.warn(`SKIPPED tests/ui/ui-a11y.test.ts: ${CHROMIUM} is missing (install Debian's chromium package)`);
const ARTEFACTS = join(ROOT, 'test-artifacts', 'ui');

describe.skipIf(!HAVE_CHROMIUM)('switchyard ui: accessibility, layout and keyboard in chromium', () => {
  let dir: string;
  let registry: string;
  let ui: RunningUi;
  let ctx: BrowserContext;
  const problems: string[] = [];

  beforeAll(async () => {
    dir = tmp('sy-ui-a11y-');
    const fx = await trainUiFixture(dir);
    registry = fx.registry;
    ui = await startUi({ runs: fx.runs, registry, port: 0 });
    mkdirSync(ARTEFACTS, { recursive: true });
    // The pages allow only their own scripts; the test injects axe-core, so this browser ignores the policy.
    ctx = await launchChromium(join(dir, 'profile'), { width: 1200, height: 900 }, { bypassCSP: true });
  }, 180_000);

  afterAll(async () => {
    await ctx?.close();
    await ui?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const open = (path: string): Promise<Page> => openPage(ctx, `http://127.0.0.1:${ui.port}${path}`, problems);

  it.each(UI_PAGES)('$name ($path): no serious axe violations; boxes inside the viewport and apart', async ({ name, path }) => {
    const page = await open(path);
    await page.screenshot({ path: join(ARTEFACTS, `a11y-${name}.png`), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
    expect(await layoutProblems(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it.each(UI_PAGES)('$name ($path): Tab visits every control in order with a visible focus ring', async ({ path }) => {
    const page = await open(path);
    const { expected, visited, unringed } = await tabThrough(page);
    expect(expected.length).toBeGreaterThan(1);
    expect(visited).toEqual(expected);
    expect(unringed).toEqual([]);
    await page.close();
  }, 60_000);

  it('Enter on the focused Promote button promotes, with the typed reason recorded', async () => {
    const page = await open('/registry');
    const form = page.locator('#model-tiny .promote');
    await form.locator('select[name=version]').focus();
    await page.keyboard.press('ArrowDown'); // v1 -> v2
    await page.keyboard.press('Tab');
    await page.keyboard.type('promoted from the keyboard');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement.textContent)).toBe('Promote');
    await Promise.all([page.waitForEvent('framenavigated'), page.keyboard.press('Enter')]);
    await page.waitForLoadState('load');
    expect(await page.locator('#model-tiny .aliases').textContent()).toContain('production → v2');
    const reg = await openRegistry(registry);
    try {
      expect((await reg.history('tiny')).at(-1)).toMatchObject({ action: 'alias', to: 2, reason: 'promoted from the keyboard' });
    } finally {
      await reg.close();
    }
    await page.close();
  }, 60_000);
});
