/**
 * The model card and the risk profile of the demo model, from its real reports: `switchyard demo` writes the
 * audit and eval reports, the test adds an evaluation with slices and fairness and a compression check,
 * registers the run with them, and writes the card and the profile through the CLI as a user would. Every
 * number of the card must trace to a field of a report file; missing evidence is listed, never invented.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatValue, jsonPointer } from '../../src/report/evidence.ts';
import type { ModelCard } from '../../src/report/model-card.ts';
import { cli, expectBadInput, tmp } from '../cli/helpers.ts';

let dir: string;
let out: string;
const run = (args: string[]) => cli(args, dir);

beforeAll(() => {
  dir = tmp('sy-card-');
  out = join(dir, 'card');
  expect(run(['demo', '--out', 'demo', '--json', '--epochs', '30']).code).toBe(0);
  const ev = run(['eval', '--model', 'demo/run', '--data', 'demo/data/test.csv', '--slice', 'Island', '--sensitive', 'Sex', '--positive', 'Gentoo', '--min-group-size', '10', '--resamples', '200', '--out', 'eval', '--json']);
  expect(ev.code, ev.stderr).toBe(0);
  const c = run(['compress', '--model', 'demo/run', '--out', 'demo.int8.onnx', '--data', 'demo/data/test.csv', '--report', 'compress.json', '--json']);
  expect(c.code, c.stderr).toBe(0);
  writeFileSync(join(dir, 'review.md'), '# Security review\nNo network access; inputs validated by the server schema.\n');
  const reg = run(['registry', 'register', '--registry', 'reg', '--name', 'penguins', '--from', 'demo/run', '--audit', 'demo/audit', '--eval', 'eval', '--compress', 'compress.json', '--reason', 'demo model', '--json']);
  expect(reg.code, reg.stderr).toBe(0);
  expect(run(['registry', 'alias', '--registry', 'reg', 'penguins', 'production', '1', '--reason', 'first release']).code).toBe(0);
  expect(run(['card', '--init', '--answers', 'card.yaml', '--model', 'penguins@production']).code).toBe(0);
  const filled = readFileSync(join(dir, 'card.yaml'), 'utf8').replace('\n  primary:\n', '\n  primary: Identify penguin species from beak, flipper and mass measurements.\n').replace('\n  owner:\n', '\n  owner: The field-station data lead.\n');
  writeFileSync(join(dir, 'card.yaml'), filled);
}, 240_000);

/** Every `[text](evidence/FILE#POINTER)` link of a Markdown text. */
function links(md: string): { text: string; file: string; pointer: string }[] {
  return [...md.matchAll(/\[([^\]]*)\]\((evidence\/[^)#]+)#([^)]*)\)/g)].map((m) => ({ text: m[1].replace(/\\(.)/g, '$1'), file: m[2], pointer: decodeURI(m[3]) }));
}

describe('switchyard card', () => {
  it('writes MODEL_CARD.md/.html from the registry version: every number links to a report field that holds it', () => {
    const r = run(['card', '--registry', 'reg', '--model', 'penguins@production', '--answers', 'card.yaml', '--out', 'card', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const md = readFileSync(join(out, 'MODEL_CARD.md'), 'utf8');
    for (const h of ['Model details', 'Intended use', 'Factors', 'Metrics', 'Evaluation data', 'Training data', 'Quantitative analyses', 'Ethical considerations', 'Caveats and recommendations']) expect(md).toContain(`. ${h}\n`);
    const all = links(md);
    expect(all.length).toBeGreaterThan(100);
    // A sample across the card (every 7th link, plus the slice and fairness numbers): the linked field holds the shown value.
    const sample = [...all.filter((_, i) => i % 7 === 0), ...all.filter((l) => /\/slices\/|\/fairness\//.test(l.pointer))];
    expect(sample.length).toBeGreaterThan(30);
    for (const l of sample) {
      const doc = JSON.parse(readFileSync(join(out, l.file), 'utf8'));
      const value = jsonPointer(doc, l.pointer);
      expect(value, `${l.file}#${l.pointer}`).not.toBeUndefined();
      expect(l.text, `${l.file}#${l.pointer}`).toBe(Array.isArray(value) ? l.text : formatValue(value));
    }
    // The copies are the registered reports, byte for byte (and the SHA-256 the registry holds).
    const card = JSON.parse(readFileSync(join(out, 'MODEL_CARD.json'), 'utf8')) as ModelCard;
    expect(readFileSync(join(out, 'evidence/reports/eval/eval.json'))).toEqual(readFileSync(join(dir, 'eval/eval.json')));
    expect(readFileSync(join(out, 'evidence/reports/compress/compress.json'))).toEqual(readFileSync(join(dir, 'compress.json')));
    for (const e of card.evidence) expect(createHash('sha256').update(readFileSync(join(out, 'evidence', e.path))).digest('hex')).toBe(e.sha256);
    // The sliced accuracy of each island, with its interval, is in the card and equals eval.json.
    const evalJson = JSON.parse(readFileSync(join(dir, 'eval/eval.json'), 'utf8'));
    const island = evalJson.scores.slices.find((s: { column: string }) => s.column === 'Island');
    const shown = all.filter((l) => l.pointer.startsWith(`/scores/slices/${evalJson.scores.slices.indexOf(island)}/slices/`) && /\/(low|high)$/.test(l.pointer));
    expect(shown.length).toBeGreaterThan(0);
  });

  it('lists missing evidence as missing and invents nothing: no security review, no adversarial evaluation', () => {
    const card = JSON.parse(readFileSync(join(out, 'MODEL_CARD.json'), 'utf8')) as ModelCard;
    expect(card.missing.map((m) => m.what)).toEqual(expect.arrayContaining(['security review', 'adversarial robustness']));
    expect(card.missing.map((m) => m.what)).not.toContain('compression check');
    expect(card.checks.find((c) => c.check === 'Security review')?.status).toBe('missing');
    expect(card.openQuestions).not.toContain('use.primary');
    const html = readFileSync(join(out, 'MODEL_CARD.html'), 'utf8');
    expect(html).toContain('Identify penguin species');
    // Every number in a table is a link to its source, never a bare value; the page opens with the checks.
    expect(html).not.toMatch(/<td class="num">/);
    expect(html.indexOf('id="checks"')).toBeLessThan(html.indexOf('<nav class="toc"'));
    expect(html).toMatch(/<a href="evidence\/reports\/eval\/eval\.json#\/scores\/overall\/accuracy\/estimate">/);
    expect(readFileSync(join(out, 'MODEL_CARD.md'), 'utf8')).toMatch(/> \*\*Missing evidence:\*\* security review/);
  });

  it('a security review linked at registration (any format) is listed with its link, no longer missing', () => {
    const reg = run(['registry', 'register', '--registry', 'reg', '--name', 'penguins', '--from', 'demo/run', '--eval', 'eval', '--security', 'review.md', '--json']);
    expect(reg.code, reg.stderr).toBe(0);
    expect(run(['card', '--registry', 'reg', '--model', `penguins@${reg.json.version.version}`, '--out', 'card-v2']).code).toBe(0);
    const card = JSON.parse(readFileSync(join(dir, 'card-v2/MODEL_CARD.json'), 'utf8')) as ModelCard;
    expect(card.missing.map((m) => m.what)).not.toContain('security review');
    expect(card.missing.map((m) => m.what)).toContain('compression check');
    expect(readFileSync(join(dir, 'card-v2/MODEL_CARD.md'), 'utf8')).toContain('- security review: [reports/security/review.md](evidence/reports/security/review.md)');
    expect(readFileSync(join(dir, 'card-v2/evidence/reports/security/review.md'), 'utf8')).toContain('# Security review');
  });

  it('--strict exits 3 while evidence is missing; bad input exits 2', () => {
    expect(run(['card', '--registry', 'reg', '--model', 'penguins@production', '--out', 'card2', '--strict', '--json']).code).toBe(3);
    expectBadInput(run(['card', '--registry', 'reg', '--out', 'card3']), /missing --model/);
    expectBadInput(run(['card', '--registry', 'reg', '--model', 'penguins@staging', '--out', 'card3']), /no alias 'staging'/);
    writeFileSync(join(dir, 'bad.yaml'), 'use:\n  primry: x\n');
    expectBadInput(run(['card', '--registry', 'reg', '--model', 'penguins', '--answers', 'bad.yaml', '--out', 'card3']), /bad\.yaml:2:3: unknown question 'primry' in section 'use'/);
  });
});

describe('switchyard governance', () => {
  it('maps NIST AI RMF and ISO/IEC 42001 to the evidence: evidenced, partial, missing; the gate exits 3', () => {
    const r = run(['governance', '--registry', 'reg', '--model', 'penguins@production', '--answers', 'card.yaml', '--out', 'gov', '--json', '--fail-on', 'missing=MEASURE 2.11,MANAGE 4.1']);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(readFileSync(join(dir, 'gov/governance.json'), 'utf8'));
    const row = (id: string) => p.rows.find((x: { id: string }) => x.id === id);
    // Fairness and slices were evaluated, but the audit named no sensitive column: partial.
    expect(row('MEASURE 2.11').status).toBe('partial');
    expect(row('MEASURE 2.11').found.filter((f: { present: boolean }) => f.present).map((f: { signal: string }) => f.signal)).toEqual(['eval.fairness', 'eval.slices']);
    expect(row('MEASURE 2.11').found[0].source.pointer).toBe('/scores/fairness');
    expect(row('GOVERN 1.6').status).toBe('evidenced');
    expect(row('GOVERN 2.2').status).toBe('missing');
    expect(row('A.6.2.4').status).toBe('evidenced');
    expect(p.counts['nist-ai-rmf'].evidenced + p.counts['nist-ai-rmf'].partial + p.counts['nist-ai-rmf'].missing).toBe(72);
    const gated = run(['governance', '--registry', 'reg', '--model', 'penguins@production', '--answers', 'card.yaml', '--out', 'gov', '--fail-on', 'partial=MEASURE 2.11', '--fail-on', 'missing=MEASURE 2.7']);
    expect(gated.code).toBe(3);
    expect(gated.stdout).toContain('gate partial=MEASURE 2.11 failed: MEASURE 2.11');
    expect(gated.stdout).not.toContain('MEASURE 2.7 failed');
    const html = readFileSync(join(dir, 'gov/governance.html'), 'utf8');
    expect(html).toMatch(/release gate partial=MEASURE 2\.11/);
    expect(html).toContain('not public');
  });

  it('a --fail-on selector that selects nothing, or a wrong status, is bad input', () => {
    expectBadInput(run(['governance', '--registry', 'reg', '--model', 'penguins', '--fail-on', 'missing=MEASURE 9.9']), /selects no subcategory/);
    expectBadInput(run(['governance', '--registry', 'reg', '--model', 'penguins', '--fail-on', 'absent=MEASURE']), /is not missing or partial/);
    expectBadInput(run(['governance', '--registry', 'reg', '--model', 'penguins', '--fail-on', 'MEASURE']), /say which status/);
  });
});

describe('the demo reports look right (issue 15, item 4)', () => {
  const visible = (html: string, tag: string) => [...html.matchAll(new RegExp(`<${tag}[^>]*>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]);

  it('the clean audit opens with its checks, shows what passed (a per-column drift table) and no raw option keys', () => {
    const html = readFileSync(join(dir, 'demo/audit/audit.html'), 'utf8');
    expect(html.indexOf('id="checks"')).toBeLessThan(html.indexOf('<nav class="toc"'));
    expect(html).toMatch(/sev-ok">pass<\/span><\/td><td>(<a [^>]*>)?Integrity/);
    expect(html).toMatch(/Drift<\/a><\/td><td>\d+ columns tested, none drifted/);
    expect(html).toMatch(/sev-muted">skipped<\/span><\/td><td>Bias<\/td><td>not run: no --sensitive column/);
    const audit = JSON.parse(readFileSync(join(dir, 'demo/audit/audit.json'), 'utf8'));
    expect(audit.driftTests.length).toBeGreaterThan(4);
    for (const t of audit.driftTests) expect(html).toContain(`<tr><td>${t.column}</td>`);
    expect(html).toMatch(/no drift<\/td>/);
    // Option names in words: no camelCase key, no empty mapping shown.
    for (const key of [...visible(html, 'dt'), ...visible(html, 'th')]) expect(key, key).not.toMatch(/[a-z][A-Z]/);
    expect(html).not.toContain('{}');
    expect(html).toContain('contamination n-gram length (words)');
  });

  it('the eval page opens with checks and more than accuracy, and never sends users to a source file', () => {
    const html = readFileSync(join(dir, 'eval/eval.html'), 'utf8');
    expect(html.indexOf('id="checks"')).toBeLessThan(html.indexOf('id="summary"'));
    for (const name of ['accuracy', 'balanced accuracy', 'F1 (macro)', 'ROC AUC', 'log loss', 'expected calibration error']) expect(visible(html, 'dt')).toContain(name);
    expect(html).toMatch(/<td>Fairness<\/a><\/td>|>Fairness<\/a>/);
    expect(html).toMatch(/<line class="sy-interval"/); // slices: estimates with intervals
    for (const page of ['eval/eval.html', 'demo/audit/audit.html', 'demo/eval/eval.html', 'card/MODEL_CARD.html', 'gov/governance.html']) {
      expect(readFileSync(join(dir, page), 'utf8'), page).not.toMatch(/src\/[a-z]+\/[a-z-]+\.ts/);
    }
  });
});
