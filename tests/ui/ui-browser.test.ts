/**
 * The dashboard in a real browser (Debian chromium via playwright-core): the runs page and a run page load
 * with no console errors and no request to another host, their main elements are visible and inside the
 * viewport, the server filters, sorts and pages the runs table, the uPlot curves take a line appended to
 * metrics.jsonl, and the chart legend toggles a curve from the keyboard.
 * Screenshots are kept in test-artifacts/ui/ (git-ignored) for people to look at.
 */
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../src/registry/registry.ts';
import { startUi, type RunningUi } from '../../src/ui/server.ts';
import { ROOT, tmp } from '../cli/helpers.ts';
import { CHROMIUM, HAVE_CHROMIUM } from '../helpers-chromium.ts';
import { dashboardBrowser, expectInViewport, registerTinyVersions, trainTinyRun, type DashboardBrowser } from './helpers.ts';

if (!HAVE_CHROMIUM) console.warn(`SKIPPED tests/ui/ui-browser.test.ts: ${CHROMIUM} is missing (install Debian's chromium package)`);
const ARTEFACTS = join(ROOT, 'test-artifacts', 'ui');

describe.skipIf(!HAVE_CHROMIUM)('switchyard ui in chromium', () => {
  let dir: string;
  let runs: string;
  let registry: string;
  let ui: RunningUi;
  let browser: DashboardBrowser;
  let problems: string[];
  let foreign: string[];
  let open: DashboardBrowser['open'];

  beforeAll(async () => {
    dir = tmp('sy-ui-browser-');
    runs = join(dir, 'runs');
    mkdirSync(runs);
    trainTinyRun(runs, 'tiny');
    trainTinyRun(runs, 'small', 5);
    mkdirSync(ARTEFACTS, { recursive: true });
    registry = join(dir, 'registry');
    await registerTinyVersions(registry, [[join(runs, 'tiny'), 'first'], [join(runs, 'small'), 'longer training']]);
    ui = await startUi({ runs, registry, port: 0 });
    browser = await dashboardBrowser(join(dir, 'profile'), `http://127.0.0.1:${ui.port}`);
    ({ problems, foreign, open } = browser);
  }, 180_000);

  afterAll(async () => {
    await browser?.ctx.close();
    await ui?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the runs page shows both runs; the server filters, sorts and pages them through links and a form', async () => {
    const page = await open('/');
    await expectInViewport(page.locator('header'));
    await expectInViewport(page.locator('h1'));
    await expectInViewport(page.locator('#runs'));
    await expectInViewport(page.locator('#run-filter'));
    const ids = () => page.locator('#runs tbody td:first-child').allTextContents();
    expect(await ids()).toEqual(['small', 'tiny']);
    const steps = page.locator('#runs th a', { hasText: 'steps' });
    await Promise.all([page.waitForURL(/\?sort=steps&order=asc$/), steps.click()]);
    expect(await ids()).toEqual(['tiny', 'small']);
    await Promise.all([page.waitForURL(/\?sort=steps&order=desc$/), steps.click()]); // 5 steps first
    expect(await ids()).toEqual(['small', 'tiny']);
    await page.screenshot({ path: join(ARTEFACTS, 'runs.png'), fullPage: true });
    await page.fill('#run-filter', 'tin');
    await Promise.all([page.waitForURL(/\?q=tin&sort=steps&order=desc$/), page.press('#run-filter', 'Enter')]);
    expect(await ids()).toEqual(['tiny']);
    // One run a page: the next page's link, followed from the keyboard, keeps the sort.
    await page.goto(page.url().replace(/\?.*/, '?sort=steps&order=desc&limit=1'));
    expect(await ids()).toEqual(['small']);
    await page.locator('nav.pager a[rel=next]').focus();
    await Promise.all([page.waitForURL(/\?sort=steps&order=desc&limit=1&offset=1$/), page.keyboard.press('Enter')]);
    expect(await ids()).toEqual(['tiny']);
    expect(await page.locator('nav.pager').textContent()).toContain('runs 2–2 of 2');
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, 60_000);

  it('a run page draws its curves with uPlot and appends a metrics line to them as it is written', async () => {
    const page = await open('/');
    await page.locator('#runs a', { hasText: 'tiny' }).click();
    await page.waitForURL(/\/runs\/tiny$/);
    await page.waitForSelector('#charts[data-drawn="true"]', { state: 'attached' });
    await expectInViewport(page.locator('#chart-loss canvas'));
    expect(await page.locator('#chart-loss .u-legend').textContent()).toMatch(/trainLoss.*validLoss/);
    await expect(page.locator('#config').isVisible()).resolves.toBe(true);
    expect(await page.locator('#config').textContent()).toContain('"kind": "tabular-mlp"');
    const points = () => page.locator('#chart-loss').getAttribute('data-points');
    expect(await points()).toBe('3'); // 3 epochs
    await page.screenshot({ path: join(ARTEFACTS, 'run-before.png'), fullPage: true });
    await page.waitForSelector('#charts[data-live="open"]', { state: 'attached' }); // the event stream is open
    appendFileSync(join(runs, 'tiny', 'metrics.jsonl'), JSON.stringify({ epoch: 4, updates: 4, trainLoss: 0.2, validLoss: 0.3 }) + '\n');
    await page.waitForSelector('#chart-loss[data-points="4"]', { state: 'attached', timeout: 15_000 });
    expect(await page.locator('#records').textContent()).toBe('4');
    expect(await page.locator('td[data-field="validLoss"]').textContent()).toBe('0.3');
    await expectInViewport(page.locator('#chart-loss canvas'));
    await page.screenshot({ path: join(ARTEFACTS, 'run-after.png'), fullPage: true });
    // The legend toggles a curve from the keyboard: Enter hides it, Space shows it, a click hides it again.
    const validLoss = page.locator('.u-label', { hasText: 'validLoss' });
    const row = page.locator('#chart-loss .u-legend tr.u-series', { has: validLoss });
    const label = row.locator('.u-label');
    await label.focus();
    const state = async () => [await label.getAttribute('aria-pressed'), await row.getAttribute('class')];
    await page.keyboard.press('Enter');
    expect(await state()).toEqual(['false', expect.stringContaining('u-off')]); // uPlot's class of a hidden curve
    await page.keyboard.press(' ');
    expect(await state()).toEqual(['true', expect.not.stringContaining('u-off')]);
    await label.click();
    expect(await label.getAttribute('aria-pressed')).toBe('false');
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, 60_000);

  it('a promotion and a rollback done by clicks are recorded in the registry history with their reasons', async () => {
    const page = await open('/registry');
    const model = page.locator('#model-tiny');
    await expectInViewport(page.locator('#model-tiny .promote'));
    // A form post navigates to the redirect target: wait for that navigation and its load, not a URL it already has.
    const submit = async (button: Locator) => {
      await Promise.all([page.waitForEvent('framenavigated'), button.click()]);
      await page.waitForLoadState('load');
    };
    const promote = async (version: string, reason: string) => {
      await model.locator('.promote select[name=version]').selectOption(version);
      await model.locator('.promote input[name=reason]').fill(reason);
      await submit(model.locator('.promote button'));
    };
    await promote('1', 'baseline by click');
    await promote('2', 'better by click');
    expect(await model.locator('.aliases').textContent()).toContain('production → v2');
    await model.locator('.rollback input[name=reason]').fill('rolled back by click');
    await submit(model.locator('.rollback button'));
    expect(await model.locator('.aliases').textContent()).toContain('production → v1');
    expect(await model.locator('.history').textContent()).toContain('rolled back by click');
    await page.screenshot({ path: join(ARTEFACTS, 'registry.png'), fullPage: true });
    const reg = await openRegistry(registry);
    try {
      const h = (await reg.history('tiny')).slice(-3);
      expect(h.map((e) => [e.action, e.to, e.reason])).toEqual([['alias', 1, 'baseline by click'], ['alias', 2, 'better by click'], ['rollback', 1, 'rolled back by click']]);
    } finally {
      await reg.close();
    }
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, 60_000);
});
