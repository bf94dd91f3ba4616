import { describe, expect, it } from 'vitest';
import { renderAuditHtml } from '../../src/report/audit-report.ts';
import { barChart } from '../../src/report/charts.ts';
import { findingsHtml, renderReport, type ReportDoc } from '../../src/report/html.ts';
import { cleanAudit, EVIL, sampleAudit } from './fixtures.ts';
import { expectWellFormed } from './svg-check.ts';

/** Every URL-ish reference in a page: only the SVG namespace is allowed. */
function urls(html: string): string[] {
  return [...html.matchAll(/(?:https?:|url\(|@import)[^\s"')<]*/gi)].map((m) => m[0]);
}

/** Every attribute of every tag, parsed the way a browser splits `name="value"` pairs. */
function attributes(html: string): { tag: string; name: string; value: string }[] {
  const out: { tag: string; name: string; value: string }[] = [];
  for (const t of html.matchAll(/<([a-zA-Z][\w:-]*)([^>]*)>/g))
    for (const a of t[2].matchAll(/([^\s=/]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/g)) out.push({ tag: t[1], name: a[1].toLowerCase(), value: a[2] });
  return out;
}

/** No event handler and no link outside the page in any attribute. */
function expectNoActiveAttributes(html: string): void {
  for (const a of attributes(html)) {
    expect(a.name, `${a.tag} ${a.name}`).not.toMatch(/^on/);
    if (a.name === 'href' || a.name === 'src') expect(a.value).toMatch(/^"#/);
  }
}

const evilDoc = (): ReportDoc => ({
  title: EVIL,
  subtitle: EVIL,
  meta: [[EVIL, EVIL]],
  summary: [{ kind: 'text', text: `${EVIL}\n\nsecond paragraph` }],
  sections: [
    { id: EVIL, title: EVIL, blocks: [
      { kind: 'table', columns: [EVIL, 'n'], rows: [[EVIL, 1], [null, 2.5]], caption: EVIL },
      { kind: 'kv', pairs: [[EVIL, EVIL]] },
      { kind: 'chart', svg: barChart({ title: EVIL, categories: [EVIL], series: [{ name: EVIL, values: [1] }] }), caption: EVIL },
      { kind: 'findings', findings: [{ check: EVIL, severity: 'error', score: 1, message: EVIL, column: EVIL, split: EVIL, evidence: { rows: [1], values: [EVIL], [EVIL]: EVIL }, details: { [EVIL]: EVIL } }] },
    ] },
    { id: EVIL, title: 'same id again', blocks: [] },
  ],
});

describe('renderReport', () => {
  it('escapes every piece of text: no markup from titles, column names, values or evidence', () => {
    const html = renderReport(evilDoc());
    const tags = expectWellFormed(html);
    expect(tags).not.toContain('script');
    expect(tags).not.toContain('img');
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    // No attribute anywhere is an event handler (the text "onerror=" only appears escaped inside text and values).
    expectNoActiveAttributes(html);
  });

  it('is self-contained: a CSP forbidding scripts and requests, no external URLs, no scripts', () => {
    const html = renderReport(evilDoc());
    expect(html).toContain(`http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'`);
    expect(new Set(urls(html))).toEqual(new Set(['http://www.w3.org/2000/svg']));
    expect(html).not.toMatch(/<script|<link|@font-face/i);
  });

  it('table of contents: one link per section, each resolving to a unique section id', () => {
    const html = renderReport(evilDoc());
    const hrefs = [...html.matchAll(/<a href="#([^"]+)">/g)].map((m) => m[1]);
    const ids = [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]).filter((i) => i !== 'summary');
    expect(hrefs).toHaveLength(2);
    expect(hrefs).toEqual(ids);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(id).toMatch(/^sec-[A-Za-z0-9_-]+$/);
    expect(html).toContain('Nothing to report.');
  });

  it('formats cells (numbers right-aligned, null as a dash) and caps long tables with a note', () => {
    const rows = Array.from({ length: 30 }, (_, i) => [`r${i}`, i * 1000]);
    const html = renderReport({ title: 't', sections: [{ id: 's', title: 's', blocks: [{ kind: 'table', columns: ['a', 'b'], rows: [...rows, [null, 0.123456]], maxRows: 10 }] }] });
    expect(html).toContain('<td class="num">9,000</td>');
    expect(html).not.toContain('r10<');
    expect(html).toContain('21 more rows not shown');
    const full = renderReport({ title: 't', sections: [{ id: 's', title: 's', blocks: [{ kind: 'table', columns: ['a', 'b'], rows: [[null, 0.123456]] }] }] });
    expect(full).toContain('<td>—</td><td class="num">0.1235</td>');
  });

  it('refuses chart blocks whose markup carries scripts, handlers or links, but accepts such text escaped', () => {
    const doc = (svg: string): ReportDoc => ({ title: 't', sections: [{ id: 'c', title: 'c', blocks: [{ kind: 'chart', svg }] }] });
    for (const bad of ['<svg><script>alert(1)</script></svg>', '<svg onload="alert(1)"></svg>', '<svg><a href="https://x.y">x</a></svg>', '<svg><rect fill="url(https://x.y/p)"/></svg>', '<div>not svg</div>'])
      expect(() => renderReport(doc(bad)), bad).toThrow(/chart block/);
    expect(() => renderReport(doc('<svg><text>&lt;script&gt; onerror=1 href=x</text></svg>'))).not.toThrow();
  });

  it('lists findings most severe first with badges, evidence rows and values', () => {
    const html = findingsHtml([
      { check: 'a.info', severity: 'info', score: 0.9, message: 'i', evidence: {} },
      { check: 'a.error', severity: 'error', score: 0.1, message: 'e', evidence: { rows: Array.from({ length: 30 }, (_, i) => i) } },
      { check: 'a.warn', severity: 'warn', score: 0.5, message: 'w', evidence: { values: [1, 'x', null] } },
    ]);
    expectWellFormed(html);
    expect([...html.matchAll(/<code>(a\.\w+)<\/code>/g)].map((m) => m[1])).toEqual(['a.error', 'a.warn', 'a.info']);
    expect(html).toContain('<span class="badge sev-error">error</span>');
    expect(html).toContain('and 10 more');
    expect(html).toContain('<code>null</code>');
    expect(findingsHtml([])).toContain('No findings.');
  });

  it('folds many informational findings under a <details> when there are real problems, not otherwise', () => {
    const info = Array.from({ length: 5 }, (_, i) => ({ check: `i.${i}`, severity: 'info' as const, score: 0, message: 'fine', evidence: {} }));
    const mixed = findingsHtml([...info, { check: 'w.x', severity: 'warn', score: 0.5, message: 'look', evidence: {} }]);
    expectWellFormed(mixed);
    expect(mixed.indexOf('w.x')).toBeLessThan(mixed.indexOf('<details class="more"><summary>5 informational findings</summary>'));
    expect(mixed.match(/<article/g)).toHaveLength(6);
    expect(findingsHtml(info)).not.toContain('informational findings');
  });
});

describe('renderAuditHtml', () => {
  it('draws overview, a section per family, clusters, matches, group rates, profiles, histograms, missingness, labels, drift', () => {
    const html = renderAuditHtml(sampleAudit());
    expectWellFormed(html);
    const titles = [...html.matchAll(/<section id="[^"]+">\n<h2>([^<]+)<\/h2>/g)].map((m) => m[1]);
    expect(titles).toEqual([
      'Overview', 'Integrity (1 warn, 1 info)', 'Duplicates (1 error, 1 warn)', 'Train/test leakage (1 error)', 'Bias (1 warn)', 'Drift (1 error, 1 info)',
      'Columns', 'Distributions', 'Missing values', 'Label balance (label)', 'Drift between splits', 'Timings',
    ]);
    expect(html).toContain('3 errors, 3 warnings, 2 notes across 5 check families');
    expect(html).toContain('<td class="num">3</td><td class="num">0.91</td><td>Dear friend &lt;script&gt;');
    expect(html).toContain('<td>120, 121</td>');
    expect(html).toContain('sex: rates per group');
    expect(html).toContain('female (n=480)');
    expect(html).toContain('overall label rate (28%)'); // (480*0.21 + 520*0.34 + 3*1) / 1003
    // Histograms: age and income, each with the test split as an overlay.
    expect(html.match(/train bars, test outline/g)).toHaveLength(2);
    expect(html).toContain('missing values per column');
    expect(html).toMatch(/<td>age<\/td><td>train\/test<\/td><td>ks<\/td><td class="num">0\.31<\/td><td class="num">1e-12<\/td><td>error<\/td>/);
    expect(html).toContain('label: class shares');
    expectNoActiveAttributes(html);
    expect(html).not.toMatch(/<script|<img/i);
  });

  it('draws one group chart per column even when several findings carry its groups', () => {
    const r = sampleAudit();
    const groups = [{ group: 'a', count: 10, baseRate: 0.1 }, { group: 'b', count: 5, baseRate: 0.6 }];
    r.findings = [
      { check: 'bias.groups', severity: 'info', score: 0, message: 'm', column: 'island', evidence: {}, details: { groups, positive: 'Chinstrap' } },
      { check: 'bias.disparate-impact', severity: 'error', score: 1, message: 'm', column: 'island', evidence: {}, details: { groups } },
      { check: 'bias.group-size', severity: 'warn', score: 0.5, message: 'm', column: 'island', evidence: {}, details: { groups: groups.slice(1) } },
    ];
    const html = renderAuditHtml(r);
    expect(html.match(/island: rates per group<\/title>/g)).toHaveLength(1);
    expect(html).toContain('label rate of &#39;Chinstrap&#39;');
  });

  it('on clean data says so instead of drawing empty charts', () => {
    const html = renderAuditHtml(cleanAudit());
    expectWellFormed(html);
    expect(html).toContain('No check found a problem.');
    expect(html).toContain('No column has missing values.');
    expect(html).not.toContain('Errors to fix before training');
    expect(html).not.toContain('Drift between splits');
  });

  it('survives malformed details (groups, clusters, matches of the wrong shape)', () => {
    const r = cleanAudit();
    r.findings = [
      { check: 'bias.rates', severity: 'warn', score: 0.2, message: 'm', evidence: {}, details: { groups: 'nope' } },
      { check: 'duplicates.near-text', severity: 'warn', score: 0.2, message: 'm', evidence: {}, details: { clusters: [null, 3, { rows: 'x' }] } },
      { check: 'leakage.near-duplicate', severity: 'warn', score: NaN, message: 'm', evidence: {}, details: { matches: [null, { test: 'x' }] } },
    ];
    const html = renderAuditHtml(r);
    expectWellFormed(html);
    expect(html).toContain('Bias (1 warn)');
  });
});
