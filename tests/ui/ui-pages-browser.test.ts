/**
 * The report, version and live pages in a real browser (Debian chromium via playwright-core), over a real
 * world (a trained run, its audit and evaluation, a registered version, traffic served with --monitor and the
 * incident its drift alert opened): a run's report opens in place, a version's lineage page links its reports,
 * and an incident is acknowledged by click and recorded in the incident log. Main elements are visible, inside
 * the viewport and not overlapping; no console errors, no request to another host. Screenshots are kept in
 * test-artifacts/ui/ for people to look at.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openIncidentLog } from '../../src/monitor/incidents.ts';
import { defaultUser, openRegistry } from '../../src/registry/registry.ts';
import { ROOT, tmp } from '../cli/helpers.ts';
import { CHROMIUM, HAVE_CHROMIUM } from '../helpers-chromium.ts';
import { dashboardBrowser, expectInViewport, type DashboardBrowser } from './helpers.ts';
import { servedWorld, type World } from './world.ts';

if (!HAVE_CHROMIUM) {
  console.warn(`SKIPPED tests/ui/ui-pages-browser.test.ts: ${CHROMIUM} is missing (install Debian's chromium package)`);
}
const ARTEFACTS = join(ROOT, 'test-artifacts', 'ui');

/** No two of the elements' boxes overlap. */
async function expectApart(els: Locator[]): Promise<void> {
  const boxes = await Promise.all(els.map(async (e) => (await e.boundingBox())!));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
      expect(overlap, `elements ${i} and ${j} overlap`).toBe(false);
    }
  }
}

/** Scrolls the element to the middle of the viewport (scrollIntoViewIfNeeded may leave it a sub-pixel short). */
const centre = (el: Locator) => el.evaluate((e) => e.scrollIntoView({ block: 'center' }));

describe.skipIf(!HAVE_CHROMIUM)('switchyard ui report, version and live pages in chromium', () => {
  const world = servedWorld('sy-ui-pages-browser-');
  let w: World;
  let base: string;
  let profile: string;
  let browser: DashboardBrowser;
  let problems: string[];
  let foreign: string[];
  let open: DashboardBrowser['open'];

  beforeAll(async () => {
    ({ w, base } = world());
    mkdirSync(ARTEFACTS, { recursive: true });
    profile = tmp('sy-ui-pages-profile-');
    browser = await dashboardBrowser(profile, base);
    ({ problems, foreign, open } = browser);
  }, 60_000);
  beforeEach(() => void (problems.length = 0));
  afterAll(async () => {
    await browser?.ctx.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** Clicks `el` and waits for the page it leads to (a link or a form post answered by a redirect). */
  async function follow(page: Page, el: Locator): Promise<void> {
    await Promise.all([page.waitForEvent('framenavigated'), el.click()]);
    await page.waitForLoadState('load');
  }

  it("opens a run's evaluation report in place from the run page", async () => {
    const page = await open(`/runs/${w.run}`);
    const link = page.locator('table.reports a', { hasText: /^eval$/ });
    await centre(link);
    await expectInViewport(link);
    await follow(page, link);
    expect(page.url()).toMatch(/\/reports\/[0-9a-f]{16}$/);
    await expectInViewport(page.locator('header'));
    await expectInViewport(page.locator('h1'));
    await expectInViewport(page.locator('iframe#report'));
    await expectApart(['header', 'h1', '.report-files', 'iframe#report'].map((s) => page.locator(s)));
    const report = page.frameLocator('iframe#report');
    await expect(report.locator('h1').textContent()).resolves.toMatch(/Evaluation/i);
    await expect(report.locator('svg').first().isVisible()).resolves.toBe(true);
    await page.screenshot({ path: join(ARTEFACTS, 'report-eval.png') });
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, 60_000);

  it("shows a version's lineage and opens its linked audit report", async () => {
    const page = await open('/registry');
    await follow(page, page.locator('#model-tiny table.versions a', { hasText: 'v1' }));
    expect(page.url()).toMatch(/\/registry\/tiny\/1$/);
    const summary = page.locator('table.version-summary');
    await expectInViewport(summary);
    await expect(summary.textContent()).resolves.toContain(w.run);
    await expect(summary.textContent()).resolves.toContain('production');
    for (const t of ['table.data', 'table.linked-reports', 'table.reports', 'table.history']) {
      await centre(page.locator(t));
      await expectInViewport(page.locator(t));
    }
    await expect(page.locator('table.history').textContent()).resolves.toContain('first release');
    await expect(page.locator('table.reports').textContent()).resolves.toContain('drift'); // the drift report of v1
    await expectApart([page.locator('header'), page.locator('h1'), summary]);
    await page.screenshot({ path: join(ARTEFACTS, 'version.png'), fullPage: true });
    await follow(page, page.locator('table.linked-reports a', { hasText: /^audit$/ }).first());
    await expectInViewport(page.locator('iframe#report'));
    await expect(page.frameLocator('iframe#report').locator('h1').textContent()).resolves.toMatch(/audit/i);
    await page.screenshot({ path: join(ARTEFACTS, 'version-audit.png') });
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows what each alias serves; an incident acknowledged by click is recorded in the incident log', async () => {
    const page = await open('/live');
    const aliases = page.locator('#live-tiny table.aliases');
    await expectInViewport(aliases);
    await expect(aliases.textContent()).resolves.toContain('0%'); // the error rate, from the request log
    await expectApart([page.locator('header'), page.locator('h1'), page.locator('form.window'), aliases]);
    // uPlot draws requests, error rates, p99 and drift per test over time, above the table that holds the numbers.
    const charts = page.locator('#live-charts-tiny-production');
    await page.waitForSelector('#live-charts-tiny-production[data-drawn="true"]', { state: 'attached' });
    const figures = charts.locator('figure.chart');
    await expect(figures.count()).resolves.toBeGreaterThanOrEqual(4);
    await expect(figures.evaluateAll((fs) => fs.map((f) => f.querySelector('canvas') !== null))).resolves
      .not.toContain(false);
    await centre(figures.first());
    await expectInViewport(figures.first());
    await expectApart([...(await figures.all()), page.locator('#live-tiny table.over-time')]);
    await page.screenshot({ path: join(ARTEFACTS, 'live.png'), fullPage: true });
    const incident = page.locator(`#incident-${w.incident}`);
    await centre(incident.locator('form.acknowledge'));
    await expectInViewport(incident.locator('form.acknowledge button'));
    await incident.locator('form.acknowledge input[name=note]').fill('acknowledged by click');
    await follow(page, incident.locator('form.acknowledge button'));
    const after = page.locator(`#incident-${w.incident}`);
    await expect(after.locator('.status').textContent()).resolves.toBe('acknowledged');
    await expect(after.locator('.timeline').textContent()).resolves.toContain('acknowledged by click');
    await expect(after.locator('form.acknowledge').count()).resolves.toBe(0);
    await centre(after.locator('form.resolve'));
    await expectInViewport(after.locator('form.resolve button'));
    await page.screenshot({ path: join(ARTEFACTS, 'live-acknowledged.png'), fullPage: true });
    const reg = await openRegistry(w.registry);
    try {
      const i = await (await openIncidentLog(reg.db)).get(w.incident);
      expect(i.status).toBe('acknowledged');
      const last = { action: 'acknowledged', by: defaultUser(), note: 'acknowledged by click' };
      expect(i.timeline.at(-1)).toMatchObject(last);
    } finally {
      await reg.close();
    }
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, 60_000);
});
