/**
 * A {@link ModelCard} on disk: `MODEL_CARD.md`, `MODEL_CARD.html` (through the one report renderer) and
 * `MODEL_CARD.json`, with a copy of every evidence file under `evidence/` so each number's link — the file and
 * the JSON pointer of its field as the fragment — opens beside the card.
 */
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.ts';
import { mdEscape } from './datasheet.ts';
import { EVIDENCE_DIR, factHref, type Fact, type ModelEvidence } from './evidence.ts';
import { type Block, type Cell, renderReport, type ReportDoc } from './html.ts';
import type { CardItem, ModelCard } from './model-card.ts';

const isFact = (x: unknown): x is Fact => typeof x === 'object' && x !== null && 'source' in x;

function mdCell(c: Fact | string | number | null): string {
  if (c === null) return '—';
  if (isFact(c)) return `[${mdEscape(c.text)}](${factHref(c)})`;
  return mdEscape(String(c));
}

function itemMarkdown(i: CardItem): string[] {
  switch (i.kind) {
    case 'answer':
      return [`**${i.question}**`, '', i.answer ?? '_Not answered._', ''];
    case 'facts':
      return [...i.facts.map((f) => `- ${mdEscape(f.label)}: ${mdCell(f)}`), ''];
    case 'table':
      return [`*${mdEscape(i.caption)}*`, '', `| ${i.columns.map(mdEscape).join(' | ')} |`, `|${i.columns.map(() => ' --- |').join('')}`, ...i.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`), ''];
    case 'missing':
      return [`> **Missing evidence:** ${mdEscape(i.what)}. To produce it: \`${i.how}\`.`, ''];
  }
}

/**
 * The card as Markdown: the checks, then Mitchell et al.'s sections; every number links to its source field.
 *
 * @example
 * await writeFileAtomic('MODEL_CARD.md', renderModelCardMarkdown(card));
 */
export function renderModelCardMarkdown(card: ModelCard): string {
  const m = card.model;
  const out = [
    `# Model card: ${mdEscape(m.name)} version ${m.version}`,
    '',
    `Written by \`switchyard card\` on ${card.created.slice(0, 10)} for \`${mdEscape(m.ref)}\`${m.aliases.length ? ` (aliases: ${m.aliases.map(mdEscape).join(', ')})` : ''} from the registry \`${mdEscape(m.registry)}\`, following Mitchell et al., *Model Cards for Model Reporting* (2019). Every number links to the report file and field it was read from (copies under \`${EVIDENCE_DIR}/\`); everything else was written by a person.`,
    '',
    '## Checks',
    '',
    '| status | check | result |',
    '| --- | --- | --- |',
    ...card.checks.map((c) => `| ${c.status} | ${mdEscape(c.check)} | ${mdEscape(c.detail)} |`),
    '',
  ];
  card.sections.forEach((s, i) => {
    out.push(`## ${i + 1}. ${s.title}`, '');
    for (const item of s.items) out.push(...itemMarkdown(item));
  });
  out.push('## Evidence files', '', '| link | file | SHA-256 |', '| --- | --- | --- |');
  for (const e of card.evidence) out.push(`| ${mdEscape(e.link)} | [${mdEscape(e.path)}](${EVIDENCE_DIR}/${e.path}) | \`${e.sha256}\` |`);
  return out.join('\n') + '\n';
}

function htmlCell(c: Fact | string | number | null): Cell {
  return isFact(c) ? { text: c.text, href: factHref(c) } : c;
}

function itemBlocks(i: CardItem): Block[] {
  switch (i.kind) {
    case 'answer':
      return [{ kind: 'kv', pairs: [[i.question, i.answer ?? 'Not answered.']] }];
    case 'facts':
      return [{ kind: 'kv', pairs: i.facts.map((f): [string, Cell] => [f.label, htmlCell(f)]) }];
    case 'table':
      return [{ kind: 'table', caption: i.caption, columns: i.columns, rows: i.rows.map((r) => r.map(htmlCell)) }];
    case 'missing':
      return [{ kind: 'text', text: `Missing evidence: ${i.what}. To produce it: ${i.how}.` }];
  }
}

/**
 * The card as a {@link ReportDoc} (MODEL_CARD.html): checks first, numbers as links to their source fields.
 *
 * @example
 * await writeFileAtomic('MODEL_CARD.html', renderReport(modelCardReportDoc(card)));
 */
export function modelCardReportDoc(card: ModelCard): ReportDoc {
  const m = card.model;
  return {
    title: `Model card: ${m.name} version ${m.version}`,
    subtitle: 'After Mitchell et al., Model Cards for Model Reporting (2019). Each number links to the report file and field it was read from.',
    meta: [['reference', m.ref], ['aliases', m.aliases.join(', ') || 'none'], ['registry', m.registry], ['written', card.created.slice(0, 10)], ['missing evidence', card.missing.length], ['open questions', card.openQuestions.length]],
    checks: card.checks,
    sections: [
      ...card.sections.map((s) => ({ id: s.id, title: s.title, blocks: s.items.flatMap(itemBlocks) })),
      { id: 'evidence', title: 'Evidence files', blocks: [{ kind: 'table', columns: ['link', 'file', 'SHA-256'], rows: card.evidence.map((e): Cell[] => [e.link, { text: e.path, href: `${EVIDENCE_DIR}/${e.path}` }, e.sha256]) }] },
    ],
  };
}

/**
 * Writes `evidence/<path>` for every evidence file (the bytes the registry verified), so links beside a card
 * or profile resolve; returns the paths written.
 *
 * @param dir the output directory
 * @param ev the evidence
 * @example
 * await writeEvidenceCopies('out', ev); // ['out/evidence/version.json', 'out/evidence/reports/eval/eval.json', …]
 */
export async function writeEvidenceCopies(dir: string, ev: ModelEvidence): Promise<string[]> {
  const out: string[] = [];
  for (const f of ev.files) {
    const p = join(dir, EVIDENCE_DIR, ...f.path.split('/'));
    await writeFileAtomic(p, f.bytes);
    out.push(p);
  }
  return out;
}

/**
 * Writes `MODEL_CARD.md`, `MODEL_CARD.html`, `MODEL_CARD.json` and the evidence copies into `dir`.
 *
 * @example
 * await writeModelCard('cards/penguins', card, ev); // { md: 'cards/penguins/MODEL_CARD.md', … }
 */
export async function writeModelCard(dir: string, card: ModelCard, ev: ModelEvidence): Promise<{ md: string; html: string; json: string }> {
  const files = { md: join(dir, 'MODEL_CARD.md'), html: join(dir, 'MODEL_CARD.html'), json: join(dir, 'MODEL_CARD.json') };
  await writeEvidenceCopies(dir, ev);
  await writeJsonAtomic(files.json, card);
  await writeFileAtomic(files.md, renderModelCardMarkdown(card));
  await writeFileAtomic(files.html, renderReport(modelCardReportDoc(card)));
  return files;
}
