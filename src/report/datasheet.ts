/**
 * A datasheet for a dataset (Gebru et al., "Datasheets for Datasets"): the seven sections of questions,
 * answered from two sources — what the audit measured (sizes, columns and kinds, missing values, duplicates,
 * label balance, sensitive groups, known issues, time span) and what a person wrote in the answers YAML
 * (motivation, source, consent, license, maintenance, ...). Sections nobody answered are flagged.
 */
import type { AuditResult, Finding } from '../audit/types.ts';
import { checkFamily, groupsOf, labelProfiles, sensitiveColumns, severityCounts } from './audit-view.ts';
import type { DatasheetAnswers } from './datasheet-answers.ts';
import { DATASHEET_SECTIONS } from './datasheet-questions.ts';
import type { ReportDoc } from './html.ts';

/**
 * One answered (or open) question.
 *
 * @example
 * const i: DatasheetItem = { key: 'count', question: 'How many instances are there?', facts: ['train: 1,000 rows × 6 columns'] };
 */
export interface DatasheetItem {
  key: string;
  question: string;
  /** What a person wrote. */
  answer?: string;
  /** Facts the audit measured. */
  facts: string[];
}

/**
 * One section of a built datasheet.
 *
 * @example
 * buildDatasheet(audit).sections.filter((s) => s.empty).map((s) => s.title);
 */
export interface DatasheetSection {
  id: string;
  title: string;
  items: DatasheetItem[];
  /** No person's answer and no audit fact in any question. */
  empty: boolean;
}

/**
 * A datasheet ready to render.
 *
 * @example
 * const ds: Datasheet = buildDatasheet(audit, answers); ds.openQuestions; // ['motivation.funding', ...]
 */
export interface Datasheet {
  title: string;
  created: string;
  auditCreated: string;
  sections: DatasheetSection[];
  /** Ids of sections with nothing in them. */
  emptySections: string[];
  /** `section.key` of every question with neither an answer nor a fact. */
  openQuestions: string[];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const n = (x: number) => x.toLocaleString('en-US');
const PROBLEM_FAMILIES = new Set(['integrity', 'duplicates', 'leakage', 'contamination', 'labels', 'balance']);
const USE_FAMILIES = new Set(['bias', 'drift', 'leakage', 'contamination']);

function problems(findings: readonly Finding[], families: Set<string>): string[] {
  return findings
    .filter((f) => f.severity !== 'info' && families.has(checkFamily(f.check)))
    .sort((a, b) => (a.severity === b.severity ? b.score - a.score : a.severity === 'error' ? -1 : 1))
    .map((f) => `${f.severity === 'error' ? 'Error' : 'Warning'} (${f.check}): ${f.message}`);
}

/** What the audit can say, by `section.key`. */
function auditFacts(r: AuditResult): Record<string, string[]> {
  const facts: Record<string, string[]> = {};
  const add = (k: string, ...lines: string[]) => void (facts[k] ??= []).push(...lines.filter(Boolean));
  const total = r.splits.reduce((a, s) => a + s.rows, 0);
  add('composition.count', ...r.splits.map((s) => `${s.split}: ${n(s.rows)} rows × ${s.columns.length} columns (${s.file})`), r.splits.length > 1 ? `${n(total)} rows in all.` : '');
  const first = r.splits[0];
  if (first) {
    const kinds = new Map<string, string[]>();
    for (const c of first.columns) kinds.set(c.kind, [...(kinds.get(c.kind) ?? []), c.name]);
    add('composition.fields', `${first.columns.length} columns: ${[...kinds.entries()].map(([k, cols]) => `${cols.length} ${k} (${cols.slice(0, 12).join(', ')}${cols.length > 12 ? ', ...' : ''})`).join('; ')}.`);
  }
  add('composition.splits', ...(r.splits.length > 1 ? [`The audit read ${r.splits.length} splits: ${r.splits.map((s) => `${s.split} (${s.file})`).join(', ')}.`] : []));
  const missing = r.splits.flatMap((s) => s.columns.filter((c) => c.missing > 0).map((c) => ({ s: s.split, c: c.name, rate: c.rows ? c.missing / c.rows : 0, m: c.missing })));
  if (missing.length) add('composition.missing', ...missing.sort((a, b) => b.rate - a.rate).slice(0, 20).map((x) => `${x.c} (${x.s}): ${n(x.m)} missing (${pct(x.rate)})`));
  else if (r.splits.length) add('composition.missing', 'No column has missing values.');
  for (const { split, column } of labelProfiles(r)) {
    const known = column.rows - column.missing;
    const classes = (column.topValues ?? []).map((t) => `${t.value} ${pct(known ? t.count / known : 0)}`).join(', ');
    add('composition.labels', `Target column ${column.name}, ${split}: ${column.distinct} classes${classes ? ` (${classes}${column.distinct > (column.topValues?.length ?? 0) ? ', ...' : ''})` : ''}.`);
  }
  add('composition.labels', ...problems(r.findings, new Set(['labels', 'balance'])));
  const c = severityCounts(r.findings);
  add('composition.issues', `The audit found ${c.error} errors and ${c.warn} warnings (${c.info} informational findings).`, ...problems(r.findings, PROBLEM_FAMILIES));
  for (const col of sensitiveColumns(r)) {
    const groups = r.findings.flatMap((f) => (f.column === col ? groupsOf(f) : []));
    const prof = first?.columns.find((x) => x.name === col);
    if (groups.length) add('composition.subpopulations', `Sensitive column ${col}: ${groups.map((g) => `${g.group} ${n(g.count)} rows${g.baseRate !== undefined ? `, label base rate ${pct(g.baseRate)}` : ''}`).join('; ')}.`);
    else if (prof?.topValues?.length) add('composition.subpopulations', `Sensitive column ${col}: ${prof.topValues.map((t) => `${t.value} ${n(t.count)} rows`).join('; ')}.`);
  }
  add('composition.subpopulations', ...problems(r.findings, new Set(['bias'])));
  const ids = [...new Set(r.splits.flatMap((s) => s.columns.filter((x) => x.kind === 'identifier').map((x) => x.name)))];
  if (ids.length) add('composition.identifiable', `Columns that look like identifiers: ${ids.join(', ')}. Check whether they identify people.`);
  for (const s of r.splits) for (const col of s.columns.filter((x) => x.kind === 'datetime' && x.min !== undefined && x.max !== undefined)) add('collection.timeframe', `${col.name} (${s.split}) spans ${col.min} to ${col.max}.`);
  add('uses.limitations', ...problems(r.findings, USE_FAMILIES));
  return facts;
}

/**
 * Builds the datasheet from an audit result and (optionally) a person's answers.
 *
 * @example
 * const ds = buildDatasheet(audit, parseDatasheetAnswers(yamlText, 'datasheet.yaml'));
 * ds.emptySections; // ['distribution'] when nobody said how the data is distributed
 */
export function buildDatasheet(audit: AuditResult, answers: DatasheetAnswers = { answers: {} }, created = new Date().toISOString()): Datasheet {
  const facts = auditFacts(audit);
  const sections: DatasheetSection[] = DATASHEET_SECTIONS.map((spec) => {
    const items = spec.questions.map((q) => ({ key: q.key, question: q.question, answer: answers.answers[spec.id]?.[q.key], facts: facts[`${spec.id}.${q.key}`] ?? [] }));
    return { id: spec.id, title: spec.title, items, empty: items.every((i) => !i.answer && !i.facts.length) };
  });
  const files = audit.splits.map((s) => s.file.split('/').pop()).join(', ');
  return {
    title: answers.name ?? (files || 'dataset'),
    created,
    auditCreated: audit.created,
    sections,
    emptySections: sections.filter((s) => s.empty).map((s) => s.id),
    openQuestions: sections.flatMap((s) => s.items.filter((i) => !i.answer && !i.facts.length).map((i) => `${s.id}.${i.key}`)),
  };
}

/**
 * Escapes text that came from data (column names, values, messages) for inline Markdown.
 *
 * @example
 * mdEscape('a|b <x> *y*'); // 'a\\|b &lt;x&gt; \\*y\\*'
 */
export function mdEscape(s: string): string {
  return s.replace(/[\\`*_[\]|#]/g, (c) => `\\${c}`).replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}

/**
 * The datasheet as Markdown (DATASHEET.md): a warning listing empty sections, then each section with its
 * questions, the person's answers, the audit's facts, and "Not answered" where there is neither.
 *
 * @example
 * await writeFileAtomic('DATASHEET.md', renderDatasheetMarkdown(ds));
 */
export function renderDatasheetMarkdown(ds: Datasheet): string {
  const out = [
    `# Datasheet: ${mdEscape(ds.title)}`,
    '',
    `Written by \`switchyard datasheet\` on ${ds.created.slice(0, 10)} from the data audit of ${ds.auditCreated.slice(0, 10)}${ds.sections.some((s) => s.items.some((i) => i.answer)) ? " and the answers of the dataset's creators" : ''}, following the questions of Gebru et al., *Datasheets for Datasets* (2021). Facts marked *audit* were measured on the data; everything else was written by a person.`,
    '',
  ];
  if (ds.emptySections.length) {
    const titles = ds.sections.filter((s) => s.empty).map((s) => s.title);
    out.push(`> **Incomplete:** ${ds.emptySections.length} of ${ds.sections.length} sections have no answers: ${titles.join(', ')}. Answer them in the answers YAML (\`switchyard datasheet --init\` writes a template) and run \`switchyard datasheet\` again.`, '');
  }
  ds.sections.forEach((s, i) => {
    out.push(`## ${i + 1}. ${s.title}`, '');
    if (s.empty) out.push('> **This section is empty.** Nobody has answered its questions yet, and the audit cannot.', '');
    for (const item of s.items) {
      out.push(`**${item.question}**`, '');
      if (item.answer) out.push(item.answer, '');
      if (item.facts.length) out.push(...item.facts.map((f) => `- *audit:* ${mdEscape(f)}`), '');
      if (!item.answer && !item.facts.length) out.push('_Not answered._', '');
    }
  });
  return out.join('\n');
}

/**
 * The datasheet as a {@link ReportDoc} for `renderReport` (DATASHEET.html).
 *
 * @example
 * await writeFileAtomic('DATASHEET.html', renderReport(datasheetReportDoc(ds)));
 */
export function datasheetReportDoc(ds: Datasheet): ReportDoc {
  return {
    title: `Datasheet: ${ds.title}`,
    subtitle: 'After Gebru et al., Datasheets for Datasets (2021). Lines marked "audit:" were measured on the data.',
    meta: [['written', ds.created.slice(0, 10)], ['audit of', ds.auditCreated.slice(0, 10)], ['empty sections', ds.emptySections.join(', ') || 'none'], ['open questions', ds.openQuestions.length]],
    checks: ds.sections.map((s) => {
      const open = s.items.filter((i) => !i.answer && !i.facts.length).length;
      return { check: s.title, status: s.empty ? 'missing' : open ? 'warn' : 'pass', detail: s.empty ? 'nobody has answered it' : `${s.items.length - open} of ${s.items.length} questions answered`, section: s.id };
    }),
    sections: ds.sections.map((s) => ({
      id: s.id,
      title: s.empty ? `${s.title} (empty)` : s.title,
      blocks: [
        ...(s.empty ? [{ kind: 'text' as const, text: 'This section is empty: nobody has answered its questions yet, and the audit cannot.' }] : []),
        { kind: 'kv' as const, pairs: s.items.map((i): [string, string] => [i.question, [i.answer, ...i.facts.map((f) => `audit: ${f}`)].filter(Boolean).join('\n') || 'Not answered.']) },
      ],
    })),
  };
}
