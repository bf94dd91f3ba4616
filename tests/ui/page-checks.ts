/**
 * Checks of a dashboard page in chromium, shared by the browser tests: axe-core's serious and critical
 * violations (colour contrast included), element boxes (visible, inside the viewport's width, not overlapping),
 * and the keyboard (Tab visits every control in document order, each with a visible focus ring).
 */
import { createRequire } from 'node:module';
import type { BrowserContext, Page } from 'playwright-core';

/**
 * Opens `url` in a new tab of `ctx`, collecting console errors and page errors into `problems`; on a chart page
 * waits until the charts are drawn.
 */
export async function openPage(ctx: BrowserContext, url: string, problems: string[]): Promise<Page> {
  const page = await ctx.newPage();
  page.on('console', (m) => void (m.type() === 'error' && problems.push(`${m.type()}: ${m.text()}`)));
  page.on('pageerror', (e) => void problems.push(`pageerror: ${e.message}`));
  await page.goto(url, { waitUntil: 'load' });
  if (await page.locator('[data-charts]').count()) {
    await page.waitForSelector('[data-charts][data-drawn="true"]', { state: 'attached' });
  }
  return page;
}

/** axe-core's browser build, from the installed dev dependency. */
export const AXE_FILE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** Injects axe-core and returns its serious and critical violations as `rule: target (message)` lines. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE_FILE });
  const results = await page.evaluate(() => (globalThis as any).axe.run((globalThis as any).document, {
    resultTypes: ['violations'],
  }));
  return (results.violations as any[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => (v.nodes as any[]).map((n) => `${v.id}: ${n.target.join(' ')} (${n.failureSummary})`));
}

/** The elements whose boxes the layout check compares: text blocks, controls, tables and their cells, charts. */
const LAID_OUT = 'header, h1, h2, h3, p, pre, table, caption, label, input, select, button, a, canvas, .u-title, '
  + '.u-legend, th, td';

/**
 * Visible laid-out elements that overlap another (neither containing the other) or reach outside the viewport's
 * width, described as `tag#id.class "text"`. Elements inside a horizontally scrolling box are checked against
 * that box instead of the viewport.
 */
export async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate((selector) => {
    const doc = (globalThis as any).document;
    const win = globalThis as any;
    const name = (el: any) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}`
      + `${typeof el.className === 'string' && el.className ? `.${el.className.split(' ')[0]}` : ''}`
      + ` "${(el.textContent ?? '').trim().slice(0, 30)}"`;
    const boxes = [...doc.querySelectorAll(selector)].flatMap((el: any) => {
      const r = el.getBoundingClientRect();
      const style = win.getComputedStyle(el);
      if (r.width < 1 || r.height < 1 || style.visibility === 'hidden' || el.closest('noscript')) return [];
      return [{ el, x: r.left + win.scrollX, y: r.top + win.scrollY, w: r.width, h: r.height }];
    });
    const out: string[] = [];
    const width = doc.documentElement.clientWidth;
    for (const b of boxes) {
      const scroller = b.el.parentElement?.closest('.scroll');
      const right = scroller ? scroller.getBoundingClientRect().right + win.scrollX : width;
      const left = scroller ? scroller.getBoundingClientRect().left + win.scrollX : 0;
      if (!scroller && (b.x < left - 0.5 || b.x + b.w > right + 0.5 || b.y < 0)) {
        out.push(`outside the viewport: ${name(b.el)} at x ${b.x.toFixed(0)}..${(b.x + b.w).toFixed(0)} of ${width}`);
      }
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i], boxes[j]];
        if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
        const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
        const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
        if (w > 1 && h > 1) out.push(`overlap: ${name(a.el)} and ${name(b.el)} (${w.toFixed(0)}x${h.toFixed(0)} px)`);
      }
    }
    return out;
  }, LAID_OUT);
}

/** The controls Tab should visit, in document order: links, buttons, fields, anything with a tab index >= 0. */
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea, '
  + '[tabindex]:not([tabindex="-1"])';

/**
 * Presses Tab from the top of the page through every control; returns the controls in document order, the order
 * Tab visited them in, and those whose focus showed no outline.
 */
export async function tabThrough(page: Page): Promise<{ expected: string[]; visited: string[]; unringed: string[] }> {
  const describe = `(el) => el ? el.tagName.toLowerCase() + '|' + (el.getAttribute('name') || el.getAttribute('aria-label')
    || el.textContent.trim().slice(0, 40) || el.id) + '|' + [...document.querySelectorAll('*')].indexOf(el) : 'none'`;
  const expected = await page.evaluate(`[...document.querySelectorAll(${JSON.stringify(FOCUSABLE)})]
    .filter((el) => el.getClientRects().length > 0 && !el.closest('noscript')).map(${describe})`) as string[];
  await page.evaluate('document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)');
  const visited: string[] = [];
  const unringed: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    await page.keyboard.press('Tab');
    const [id, ring] = await page.evaluate(`[(${describe})(document.activeElement),
      getComputedStyle(document.activeElement).outlineStyle !== 'none'
        && parseFloat(getComputedStyle(document.activeElement).outlineWidth) >= 2]`) as [string, boolean];
    visited.push(id);
    if (!ring) unringed.push(id);
  }
  return { expected, visited, unringed };
}
