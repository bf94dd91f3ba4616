import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAuditJson } from '../../src/report/audit-view.ts';
import { buildDatasheet, datasheetReportDoc, renderDatasheetMarkdown } from '../../src/report/datasheet.ts';
import { datasheetTemplate, parseDatasheetAnswers } from '../../src/report/datasheet-answers.ts';
import { DATASHEET_SECTIONS } from '../../src/report/datasheet-questions.ts';
import { renderReport } from '../../src/report/html.ts';
import { expectCode } from '../expect-error.ts';
import { runAudit } from '../../src/audit/run.ts';
import { cli, expectBadInput, tmp, vegaCsv } from '../cli/helpers.ts';
import { cleanAudit, EVIL, sampleAudit } from './fixtures.ts';

const facts = (ds: ReturnType<typeof buildDatasheet>, section: string, key: string) => ds.sections.find((s) => s.id === section)!.items.find((i) => i.key === key)!.facts;

const ANSWERS = `
name: Spam emails 2024
motivation:
  purpose: Train a spam filter for a small mail server.
  creators: The mail team.
collection:
  acquisition: |
    Exported from the server's quarantine folder.
    Labelled by two admins.
  consent: [Users agreed to the terms of service, Personal data was removed]
preprocessing:
  steps: HTML stripped.
distribution:
  license: CC-BY-4.0
maintenance:
  maintainer: mail-team@example.org
`;

describe('datasheet from an audit', () => {
  it('fills composition from the audit and flags the sections only a person can answer', () => {
    const ds = buildDatasheet(sampleAudit(), undefined, '2025-02-01T00:00:00Z');
    expect(ds.emptySections).toEqual(['motivation', 'collection', 'preprocessing', 'distribution', 'maintenance']);
    expect(facts(ds, 'composition', 'count')).toEqual(['train: 1,000 rows × 6 columns (data/train.csv)', 'test: 100 rows × 4 columns (data/test.csv)', '1,100 rows in all.']);
    expect(facts(ds, 'composition', 'fields')[0]).toMatch(/^6 columns: 2 numeric \(age, income\); 3 categorical/);
    expect(facts(ds, 'composition', 'labels')).toEqual(['Target column label, train: 2 classes (spam 30.0%, ham 70.0%).', 'Target column label, test: 2 classes (spam 40.0%, ham 60.0%).']);
    expect(facts(ds, 'composition', 'missing').slice(0, 2)).toEqual(['income (train): 300 missing (30.0%)', 'income (test): 10 missing (10.0%)']);
    expect(facts(ds, 'composition', 'subpopulations')[0]).toBe('Sensitive column sex: female 480 rows, label base rate 21.0%; male 520 rows, label base rate 34.0%; ' + EVIL + ' 3 rows, label base rate 100.0%.');
    const issues = facts(ds, 'composition', 'issues');
    expect(issues[0]).toBe('The audit found 3 errors and 3 warnings (2 informational findings).');
    expect(issues[1]).toMatch(/^Error \(duplicates.exact\): 120 rows/);
    expect(issues.join('\n')).not.toContain('outliers'); // info findings are context, not issues
    expect(facts(ds, 'uses', 'limitations').map((f) => f.split(' ')[1])).toEqual(['(drift.feature):', '(leakage.near-duplicate):', '(bias.disparate-impact):']);
    expect(ds.openQuestions).toContain('motivation.purpose');
    expect(ds.openQuestions).not.toContain('composition.count');

    const md = renderDatasheetMarkdown(ds);
    expect(md).toContain('from the data audit of 2025-01-01, following the questions');
    expect(md).toContain('> **Incomplete:** 5 of 7 sections have no answers: Motivation, Collection process, Preprocessing, cleaning and labeling, Distribution, Maintenance.');
    expect(md.match(/This section is empty/g)).toHaveLength(5);
    expect(md.match(/^## \d\. /gm)).toHaveLength(7);
    expect(md).toContain('- *audit:* income (train): 300 missing (30.0%)');
    expect(md).not.toContain('<script>'); // data from the audit is escaped
    expect(md).toContain('&lt;script&gt;');
  });

  it("shows a person's answers next to the audit's facts; answered sections are no longer flagged", () => {
    const answers = parseDatasheetAnswers(ANSWERS, 'datasheet.yaml');
    const ds = buildDatasheet(sampleAudit(), answers);
    expect(ds.title).toBe('Spam emails 2024');
    expect(ds.emptySections).toEqual([]);
    const md = renderDatasheetMarkdown(ds);
    expect(md).toContain("and the answers of the dataset's creators");
    expect(md).not.toContain('Incomplete');
    expect(md).toContain("**For what purpose was the dataset created? Was there a specific task or gap in mind?**\n\nTrain a spam filter for a small mail server.");
    expect(md).toContain("Exported from the server's quarantine folder.\nLabelled by two admins.");
    expect(md).toContain('- Users agreed to the terms of service\n- Personal data was removed');
    expect(md).toContain('_Not answered._'); // e.g. motivation.funding
    const html = renderReport(datasheetReportDoc(ds));
    expect(html).toContain('CC-BY-4.0');
    expect(html).not.toMatch(/<script/);
  });

  it('from a real audit (vega penguins): sizes, kinds, missing values, class balance and groups', async () => {
    const dir = tmp('sy-ds-');
    const audit = await runAudit({ data: vegaCsv('penguins', dir), target: 'Species', sensitive: ['Island'], labelIssues: false });
    const ds = buildDatasheet(audit);
    expect(facts(ds, 'composition', 'count')).toEqual([`train: 344 rows × 7 columns (${join(dir, 'penguins.csv')})`]);
    expect(facts(ds, 'composition', 'fields')[0]).toMatch(/^7 columns: .*4 numeric \(Beak Length \(mm\), Beak Depth \(mm\), Flipper Length \(mm\), Body Mass \(g\)\)/);
    expect(facts(ds, 'composition', 'labels')[0]).toBe('Target column Species, train: 3 classes (Adelie 44.2%, Gentoo 36.0%, Chinstrap 19.8%).');
    expect(facts(ds, 'composition', 'missing')).toContain('Beak Length (mm) (train): 2 missing (0.6%)');
    expect(facts(ds, 'composition', 'subpopulations')[0]).toMatch(/^Sensitive column Island: Biscoe 168 rows, label base rate [\d.]+%; Dream 124 rows/);
  });

  it('on clean data the audit says there is nothing wrong rather than staying silent', () => {
    const ds = buildDatasheet(cleanAudit());
    expect(facts(ds, 'composition', 'issues')).toEqual(['The audit found 0 errors and 0 warnings (0 informational findings).']);
    expect(facts(ds, 'composition', 'missing')).toEqual(['No column has missing values.']);
    expect(facts(ds, 'composition', 'labels')).toEqual([]);
    expect(ds.emptySections).toEqual(['motivation', 'collection', 'preprocessing', 'uses', 'distribution', 'maintenance']);
  });
});

describe('answers YAML', () => {
  it('the template names every question and parses back to no answers', () => {
    const t = datasheetTemplate('spam.csv');
    for (const s of DATASHEET_SECTIONS) {
      expect(t).toContain(`\n${s.id}:\n`);
      for (const q of s.questions) expect(t).toContain(`\n  ${q.key}:\n`);
    }
    expect(parseDatasheetAnswers(t, 't.yaml')).toEqual({ name: 'spam.csv', answers: {} });
    const filled = parseDatasheetAnswers(t.replace('\n  license:\n', '\n  license: MIT\n'), 't.yaml');
    expect(filled.answers).toEqual({ distribution: { license: 'MIT' } });
    expect(parseDatasheetAnswers('', 'empty.yaml')).toEqual({ answers: {} });
  });

  it('malformed YAML and unknown keys are errors naming file:line:column', () => {
    expectCode(() => parseDatasheetAnswers('motivation:\n  purpose: "unclosed\n', 'd.yaml'), 'E_YAML', /^d\.yaml:\d+:\d+: Missing closing "quote/);
    expectCode(() => parseDatasheetAnswers('motivation:\n  purpose: a\n  purpose: b\n', 'd.yaml'), 'E_YAML', /^d\.yaml:3:3: /);
    expectCode(() => parseDatasheetAnswers('motivation:\n\tpurpose: a\n', 'd.yaml'), 'E_YAML', /^d\.yaml:2:1: /);
    expectCode(() => parseDatasheetAnswers('name: x\nmotivaton:\n  purpose: a\n', 'd.yaml'), 'E_DATASHEET_ANSWER', /^d\.yaml:2:1: unknown section 'motivaton'/);
    expectCode(() => parseDatasheetAnswers('uses:\n  purpos: a\n', 'd.yaml'), 'E_DATASHEET_ANSWER', /^d\.yaml:2:3: unknown question 'purpos' in section 'uses'/);
    expectCode(() => parseDatasheetAnswers('uses:\n  used:\n    nested: map\n', 'd.yaml'), 'E_DATASHEET_ANSWER', /^d\.yaml:3:5: uses\.used must be text/);
    expectCode(() => parseDatasheetAnswers('- a\n- b\n', 'd.yaml'), 'E_DATASHEET_ANSWER', /^d\.yaml:1:1: expected a mapping/);
  });
});

describe('readAuditJson', () => {
  it('rejects other JSON and names line:column of broken JSON', () => {
    const dir = tmp('sy-ds-');
    writeFileSync(join(dir, 'other.json'), '{"rows": 3}');
    expectCode(() => readAuditJson(join(dir, 'other.json')), 'E_AUDIT_FORMAT', /other\.json: not an audit result/);
    writeFileSync(join(dir, 'broken.json'), '{"format": "switchyard.audit",\n  "splits": [}');
    expectCode(() => readAuditJson(join(dir, 'broken.json')), 'E_AUDIT_JSON', /broken\.json:2:14: not valid JSON/);
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(sampleAudit()));
    expect(readAuditJson(join(dir, 'ok.json')).findings).toHaveLength(8);
  });
});

describe('switchyard datasheet', () => {
  it('--init writes the template, refuses to overwrite it, and a full run flags empty sections (exit 3 with --strict)', () => {
    const dir = tmp('sy-ds-');
    const audit = join(dir, 'audit.json');
    writeFileSync(audit, JSON.stringify(sampleAudit()));
    const yaml = join(dir, 'datasheet.yaml');
    const init = cli(['datasheet', '--init', '--answers', yaml, '--audit', audit, '--json']);
    expect(init.code).toBe(0);
    expect(init.json).toEqual({ ok: true, template: yaml });
    expect(readFileSync(yaml, 'utf8')).toContain('name: "train.csv, test.csv"');
    expectBadInput(cli(['datasheet', '--init', '--answers', yaml]), /datasheet\.yaml: already exists/);

    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('\n  purpose:\n', '\n  purpose: Filter spam.\n'));
    const out = join(dir, 'DATASHEET.md');
    const html = join(dir, 'DATASHEET.html');
    const r = cli(['datasheet', '--audit', audit, '--answers', yaml, '--out', out, '--html', html, '--json']);
    expect(r.code).toBe(0);
    expect(r.json.emptySections).toEqual(['collection', 'preprocessing', 'distribution', 'maintenance']);
    expect(r.json.openQuestions).toContain('distribution.license');
    expect(r.stderr).toContain('empty sections: collection, preprocessing, distribution, maintenance');
    expect(readFileSync(out, 'utf8')).toContain('Filter spam.');
    expect(readFileSync(html, 'utf8')).toContain('Collection process (empty)');
    const strict = cli(['datasheet', '--audit', audit, '--answers', yaml, '--out', out, '--strict']);
    expect(strict.code).toBe(3);
    expect(strict.stdout).toMatch(/^wrote .*DATASHEET\.md: 3 of 7 sections filled/);
  });

  it('bad input: malformed YAML, a missing audit file, no --audit (exit 2, one-line error)', () => {
    const dir = tmp('sy-ds-');
    const audit = join(dir, 'audit.json');
    writeFileSync(audit, JSON.stringify(sampleAudit()));
    const yaml = join(dir, 'bad.yaml');
    writeFileSync(yaml, 'motivation:\n  purpose: [unclosed\n');
    expectBadInput(cli(['datasheet', '--audit', audit, '--answers', yaml, '--out', join(dir, 'D.md')]), /bad\.yaml:\d+:\d+: /);
    expectBadInput(cli(['datasheet', '--audit', join(dir, 'nope.json')]), /nope\.json: cannot read the audit file/);
    expectBadInput(cli(['datasheet', '--out', join(dir, 'D.md')]), /missing --audit/);
  });
});
