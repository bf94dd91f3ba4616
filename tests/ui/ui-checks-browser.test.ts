/**
 * Every dashboard page of `UI_PAGES` in chromium (the run and registry pages over trained runs, the report,
 * version and live pages over the world of `world.ts`): no serious or critical axe-core violation (colour contrast
 * included), laid-out elements visible inside the viewport's width and not overlapping, Tab visiting every
 * control in document order with a visible focus ring, and Enter on a focused Promote button promoting. Also
 * the MoE panel and charts taking a record as it is written, and comparing runs picked by their checkboxes.
 * Screenshots are kept in test-artifacts/ui/ (git-ignored).
 */
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../src/registry/registry.ts';
import { readRunMetrics } from '../../src/ui/runs.ts';
import { startUi, type RunningUi } from '../../src/ui/server.ts';
import { ROOT, tmp } from '../cli/helpers.ts';
import { CHROMIUM, HAVE_CHROMIUM } from '../helpers-chromium.ts';
import { dashboardBrowser, trainUiFixture, UI_PAGES, type DashboardBrowser } from './helpers.ts';
import { axeViolations, layoutProblems, tabThrough } from './page-checks.ts';
import { servedWorld } from './world.ts';

if (!HAVE_CHROMIUM) console.warn(`SKIPPED tests/ui/ui-checks-browser.test.ts: ${CHROMIUM} is missing (install Debian's chromium package)`);
const ARTEFACTS = join(ROOT, 'test-artifacts', 'ui');

describe.skipIf(!HAVE_CHROMIUM)('switchyard ui pages in chromium: accessibility, layout, keyboard, MoE, compare', () => {
  let dir: string;
  let registry: string;
  let runs: string;
  let ui: RunningUi;
  // The pages allow only their own scripts; the tests inject axe-core, so these browsers ignore the policy.
  let browser: DashboardBrowser;
  let worldBrowser: DashboardBrowser;
  const world = servedWorld('sy-ui-checks-world-');
  let problems: string[] = [];

  beforeAll(async () => {
    dir = tmp('sy-ui-a11y-');
    const fx = await trainUiFixture(dir);
    ({ registry, runs } = fx);
    ui = await startUi({ runs: fx.runs, registry, port: 0 });
    mkdirSync(ARTEFACTS, { recursive: true });
    browser = await dashboardBrowser(join(dir, 'profile'), `http://127.0.0.1:${ui.port}`, { bypassCSP: true });
    worldBrowser = await dashboardBrowser(join(dir, 'world-profile'), world().base, { bypassCSP: true });
    problems = browser.problems;
  }, 180_000);

  afterAll(async () => {
    await browser?.ctx.close();
    await worldBrowser?.ctx.close();
    await ui?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a page of `UI_PAGES` on the dashboard it names; `problems` are then that browser's, from now on. */
  const openListed = (p: (typeof UI_PAGES)[number]) => {
    const b = p.world ? worldBrowser : browser;
    problems = b.problems;
    problems.length = 0;
    return b.open(p.path);
  };
  const open = (path: string) => openListed({ name: path, path });

  it.each(UI_PAGES)('$name ($path): no serious axe violations; boxes inside the viewport and apart', async (p) => {
    const page = await openListed(p);
    const name = p.name;
    await page.screenshot({ path: join(ARTEFACTS, `a11y-${name}.png`), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
    expect(await layoutProblems(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it.each(UI_PAGES)('$name ($path): Tab visits every control in order with a visible focus ring', async (p) => {
    const page = await openListed(p);
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

  it('the MoE page takes a record as it is written: a heatmap column, a point on each chart', async () => {
    const page = await open('/runs/moe');
    await page.waitForSelector('#charts[data-live="open"]', { state: 'attached' });
    expect(await page.locator('#chart-moe-router_entropy').getAttribute('data-points')).toBe('4');
    const columns = () => page.locator('table.heat[data-layer="blocks.0.mlp"] thead th').allTextContents();
    expect(await columns()).toEqual(['step', '5', '10', '15', '20']);
    const last = (await readRunMetrics(runs, 'moe')).at(-1)!;
    appendFileSync(join(runs, 'moe', 'metrics.jsonl'), JSON.stringify({ ...last, step: 25, tokens: 6400 }) + '\n');
    await page.waitForSelector('#chart-moe-router_entropy[data-points="5"]', { state: 'attached', timeout: 15_000 });
    await page.waitForFunction(() => (globalThis as any).document
      .querySelector('table.heat[data-layer="blocks.0.mlp"] thead tr').lastElementChild.textContent === '25');
    expect(await columns()).toEqual(['step', '5', '10', '15', '20', '25']);
    expect(await page.locator('#chart-loss').getAttribute('data-points')).toBe('5');
    await page.screenshot({ path: join(ARTEFACTS, 'moe-live.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('runs picked by their checkboxes open the compare page: one chart with both runs\' curves', async () => {
    const page = await open('/');
    await page.getByLabel('compare small').check();
    await page.getByLabel('compare tiny').check();
    await Promise.all([page.waitForURL(/\/compare\?run=small&run=tiny$/), page.getByText('Compare selected').click()]);
    await page.waitForSelector('[data-charts][data-drawn="true"]', { state: 'attached' });
    expect(await page.locator('#chart-loss .u-legend').textContent())
      .toMatch(/small trainLoss.*small validLoss.*tiny trainLoss.*tiny validLoss/);
    expect(await page.locator('#chart-loss').getAttribute('data-points')).toBe('5'); // epochs 1..5 joined
    expect(await page.locator('#config-diff').textContent()).toContain('train.epochs');
    await page.screenshot({ path: join(ARTEFACTS, 'compare.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
