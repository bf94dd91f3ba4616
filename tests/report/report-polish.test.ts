/**
 * Charts that look right (issue 15, item 4): statistics of different scales never share an axis, legends
 * never overlap value labels or data, and slice estimates are drawn on an axis that shows 0.957 vs 1.
 */
import { describe, expect, it } from 'vitest';
import type { ColumnDrift } from '../../src/monitor/drift.ts';
import { renderDriftHtml, type DriftReport } from '../../src/monitor/report.ts';
import { barChart, intervalChart, lineChart } from '../../src/report/charts.ts';
import { buildDatasheet, datasheetReportDoc } from '../../src/report/datasheet.ts';
import { renderReport } from '../../src/report/html.ts';
import { auditChecks } from '../../src/report/audit-checks.ts';
import { cleanAudit, sampleAudit } from './fixtures.ts';

interface Box { x0: number; x1: number; y0: number; y1: number; text: string; cls: string }

/** Approximate boxes of every `<text>` (0.6 em per character, baseline at y). */
function textBoxes(svg: string): Box[] {
  return [...svg.matchAll(/<text ([^>]*)>(?:<title>[^<]*<\/title>)?([^<]*)<\/text>/g)].map((m) => {
    const a = (k: string) => m[1].match(new RegExp(`\\b${k}="([^"]*)"`))?.[1];
    const size = Number(a('font-size') ?? 12);
    const w = m[2].length * size * 0.6;
    const x = Number(a('x'));
    const y = Number(a('y'));
    const anchor = a('text-anchor');
    const x0 = anchor === 'end' ? x - w : anchor === 'middle' ? x - w / 2 : x;
    return { x0, x1: x0 + w, y0: y - size * 0.8, y1: y + size * 0.25, text: m[2], cls: a('class') ?? '' };
  });
}

const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

function drift(column: string, test: ColumnDrift['test'], statistic: number): ColumnDrift {
  return { column, type: test === 'ks' ? 'numeric' : 'categorical', test, statistic, pValue: 0.01, threshold: 0.05, drifted: false, psi: 0.01, referenceRows: 500, currentRows: 300 } as ColumnDrift;
}

describe('report charts', () => {
  it('the drift page draws each kind of statistic on its own axis (chi-square 60 never squashes KS 0.1)', () => {
    const features = [drift('island', 'chi-square', 60), drift('mass', 'ks', 0.1), drift('beak', 'ks', 0.08)];
    const report = {
      format: 'switchyard.drift-report', version: 1, model: { name: 'penguins', version: 1, ref: 'penguins@production' }, reference: null, window: '1000', createdAt: '2026-01-01T00:00:00Z',
      analysis: { rows: 300, from: null, to: null, versions: ['1'], drift: { features, columns: 3, drifted: 0, share: 0, dataset: false, driftShare: 0.5, prediction: null }, live: { labelled: 0, accuracy: null, ece: null, reliability: [] }, latency: { p50: 1, p99: 2 } },
    } as unknown as DriftReport;
    const html = renderDriftHtml(report);
    const panels = [...html.matchAll(/<svg[^>]*aria-label="([^"]*per column)"[\s\S]*?<\/svg>/g)];
    expect(panels.map((p) => p[1]).sort()).toEqual(['Kolmogorov-Smirnov statistic per column', 'chi-square statistic per column']);
    const ks = panels.find((p) => p[1].startsWith('Kolmogorov'))![0];
    expect(ks).not.toContain('island');
    const widths = [...ks.matchAll(/<rect class="sy-bar"[^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(Math.max(...widths)).toBeGreaterThan(200); // on a shared 0..60 axis the KS bars were 1 px wide
    // The page opens with the checks: the dataset, the predictions and every column.
    expect(html.indexOf('id="checks"')).toBeLessThan(html.indexOf('<nav class="toc"'));
    expect(html).toMatch(/Column mass<\/a><\/td><td>Kolmogorov-Smirnov statistic 0\.1/);
  });

  it('a legend never overlaps the value labels of bars reaching the top of the axis', () => {
    const svg = barChart({ title: 'rates by Sex', categories: ['FEMALE', 'MALE'], series: ['base rate', 'selection rate', 'TPR', 'FPR'].map((name, k) => ({ name, values: [1 - k * 0.1, 0.9] })), percent: true, domain: [0, 1] });
    const boxes = textBoxes(svg);
    const legendLabels = boxes.filter((b) => ['base rate', 'selection rate', 'TPR', 'FPR'].includes(b.text));
    const valueLabels = boxes.filter((b) => b.cls === 'sy-muted');
    expect(legendLabels.length).toBe(4);
    expect(valueLabels.length).toBeGreaterThan(0);
    for (const l of legendLabels) for (const v of valueLabels) expect(overlaps(l, v), `${l.text} / ${v.text}`).toBe(false);
  });

  it('a line chart keeps its legend above the plot, off the data', () => {
    const flat = (v: number): [number, number][] => Array.from({ length: 11 }, (_, i) => [i / 10, v]);
    const svg = lineChart({ title: 'robust accuracy', xLabel: 'epsilon', yLabel: 'accuracy', yDomain: [0, 1], series: [{ name: 'FGSM', points: flat(1) }, { name: 'PGD-10', points: flat(0.98) }] });
    const frame = svg.match(/<rect class="sy-axis" x="([\d.]+)" y="([\d.]+)"/)!;
    const plotTop = Number(frame[2]);
    const legendLabels = textBoxes(svg).filter((b) => b.text === 'FGSM' || b.text === 'PGD-10');
    expect(legendLabels.length).toBe(2);
    for (const l of legendLabels) expect(l.y1).toBeLessThanOrEqual(plotTop);
  });

  it('slice estimates with intervals on an axis that shows 0.957 vs 1 apart', () => {
    const svg = intervalChart({ title: 'accuracy by Island', valueLabel: 'accuracy', rows: [{ label: 'Biscoe (n=33)', estimate: 0.957, low: 0.9, high: 1 }, { label: 'Dream (n=25)', estimate: 1, low: 1, high: 1 }], reference: { value: 0.971, label: 'overall' } });
    const cx = [...svg.matchAll(/<circle class="sy-point" cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    const frame = svg.match(/<rect class="sy-axis" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/)!;
    expect(Math.abs(cx[1] - cx[0])).toBeGreaterThan(0.3 * Number(frame[2])); // on a 0..1 axis: 4% of it
    expect(svg).toMatch(/<line class="sy-interval"/);
    expect(svg).not.toMatch(/>0<\/text>/); // the axis does not pretend to start at zero
  });

  it('the datasheet page opens with a check per section: answered, partly answered or missing', () => {
    const html = renderReport(datasheetReportDoc(buildDatasheet(cleanAudit())));
    expect(html.indexOf('id="checks"')).toBeLessThan(html.indexOf('<nav class="toc"'));
    expect(html).toMatch(/sev-muted">missing<\/span><\/td><td><a href="#sec-motivation">Motivation<\/a><\/td><td>nobody has answered it/);
  });

  it('audit checks: a family with errors fails, with warnings is to look at, without findings passes', () => {
    const audit = sampleAudit();
    const checks = auditChecks(audit);
    for (const c of checks) {
      const fam = audit.findings.filter((f) => c.section === `findings-${f.check.split('.')[0]}` && f.severity !== 'info');
      if (fam.some((f) => f.severity === 'error')) expect(c.status, c.check).toBe('fail');
      else if (fam.length) expect(c.status, c.check).toBe('warn');
    }
    expect(checks.some((c) => c.status === 'fail')).toBe(true);
    expect(auditChecks(cleanAudit()).every((c) => c.status === 'pass' || c.status === 'skipped')).toBe(true);
  });
});
