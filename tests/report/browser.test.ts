/**
 * The rendered audit report in a real browser (Debian chromium via playwright-core): it loads from a file://
 * URL with no console errors and no request other than the file itself, every chart has a visible box, the
 * table of contents resolves, and dark mode and print media keep the charts visible.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAudit } from '../../src/audit/run.ts';
import { renderAuditHtml } from '../../src/report/audit-report.ts';
import { vegaCsv } from '../cli/helpers.ts';
import { sampleAudit } from './fixtures.ts';
import { CHROMIUM, HAVE_CHROMIUM, launchChromium } from '../helpers-chromium.ts';

if (!HAVE_CHROMIUM) console.warn(`SKIPPED tests/report/browser.test.ts: ${CHROMIUM} is missing (install Debian's chromium package; .ci/run does)`);

describe.skipIf(!HAVE_CHROMIUM)('audit.html in chromium', () => {
  let dir: string;
  let ctx: BrowserContext;
  let url: string;
  let realUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sy-report-'));
    const file = join(dir, 'audit.html');
    writeFileSync(file, renderAuditHtml(sampleAudit()));
    url = pathToFileURL(file).href;
    // A real audit: the penguins of vega-datasets split 80/20, with copied rows planted in train and test.
    const [head, ...rows] = readFileSync(vegaCsv('penguins', dir), 'utf8').trim().split('\n');
    const train = rows.filter((_, i) => i % 5 !== 0);
    const test = rows.filter((_, i) => i % 5 === 0);
    train.push(...train.slice(0, 10));
    test.push(train[3], train[7]);
    writeFileSync(join(dir, 'train.csv'), [head, ...train].join('\n') + '\n');
    writeFileSync(join(dir, 'test.csv'), [head, ...test].join('\n') + '\n');
    const real = await runAudit({ data: join(dir, 'train.csv'), test: join(dir, 'test.csv'), target: 'Species', sensitive: ['Sex', 'Island'], labelIssues: false });
    expect(real.findings.some((f) => f.check.startsWith('duplicates.') && f.severity !== 'info')).toBe(true);
    writeFileSync(join(dir, 'audit-real.html'), renderAuditHtml(real));
    realUrl = pathToFileURL(join(dir, 'audit-real.html')).href;
    ctx = await launchChromium(join(dir, 'profile'));
  }, 60_000);

  afterAll(async () => {
    await ctx?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Functions passed to page.evaluate run in the page; they reach its globals through `globalThis as any`
  // because the project compiles without the DOM lib.
  it.each([
    ['built in the test', () => url, 6],
    ['of real penguin data', () => realUrl, 8],
  ])('an audit %s loads offline with no console errors and no request but the file itself; charts and TOC work', async (_name, pageUrl, minCharts) => {
    const url = pageUrl();
    const requests: string[] = [];
    const problems: string[] = [];
    ctx.on('request', (r) => void requests.push(r.url()));
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => void problems.push(`pageerror: ${e.message}`));
    await page.goto(url, { waitUntil: 'load' });
    expect(await page.title()).toBe('Data audit: train.csv, test.csv');

    const boxes = await page.locator('svg.sy-chart').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.width, r.height]));
    expect(boxes.length).toBeGreaterThanOrEqual(minCharts); // group rates, histograms, top values, missingness, labels
    for (const [w, h] of boxes) {
      expect(w).toBeGreaterThan(50);
      expect(h).toBeGreaterThan(50);
    }

    const links = await page.locator('nav.toc a').evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
    expect(links.length).toBeGreaterThanOrEqual(10);
    const missing = await page.evaluate((hrefs) => hrefs.filter((h: string) => !h.startsWith('#') || !(globalThis as any).document.getElementById(h.slice(1))), links);
    expect(missing).toEqual([]);
    // Following a TOC link scrolls its section to the top of the viewport.
    const target = links[3];
    await page.locator(`nav.toc a[href="${target}"]`).click();
    expect(page.url()).toBe(url + target);
    const [top, scrolled] = await page.evaluate((id) => [(globalThis as any).document.getElementById(id).getBoundingClientRect().top, (globalThis as any).scrollY], target.slice(1));
    expect(Math.abs(top)).toBeLessThan(5);
    expect(scrolled).toBeGreaterThan(100);

    // Injected markup from column names stayed text.
    expect(await page.locator('script, img').count()).toBe(0);
    if (url.endsWith('/audit.html')) expect(await page.locator('text=<script>alert("x")</script>').first().isVisible()).toBe(true);

    expect(problems).toEqual([]);
    expect(new Set(requests)).toEqual(new Set([url]));
    ctx.removeAllListeners('request');
    await page.close();
  });

  it('dark mode restyles page and charts; print media keeps every chart visible', async () => {
    const page = await ctx.newPage();
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(url);
    const [bg, chartText] = await page.evaluate(() => [(globalThis as any).getComputedStyle((globalThis as any).document.documentElement).backgroundColor, (globalThis as any).getComputedStyle((globalThis as any).document.querySelector('svg.sy-chart text')).fill]);
    expect(bg).toBe('rgb(13, 17, 23)');
    expect(chartText).not.toBe('rgb(0, 0, 0)');
    await page.emulateMedia({ media: 'print', colorScheme: 'light' });
    const boxes = await page.locator('svg.sy-chart').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width * e.getBoundingClientRect().height));
    for (const a of boxes) expect(a).toBeGreaterThan(2500);
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  });
});
