/**
 * The person's half of a datasheet: a commented YAML template of every question (`switchyard datasheet
 * --init`) and a strict parser of the filled-in file. Malformed YAML, an unknown section or question key, or
 * an answer that is not text is a `SwitchyardError` naming `file:line:column`.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { SwitchyardError } from '../util/errors.ts';
import { DATASHEET_SECTIONS } from './datasheet-questions.ts';

/**
 * What a person wrote: the dataset name and answers by section id and question key (non-empty text only).
 *
 * @example
 * const a: DatasheetAnswers = { name: 'spam emails', answers: { distribution: { license: 'CC-BY-4.0' } } };
 */
export interface DatasheetAnswers {
  name?: string;
  answers: Record<string, Record<string, string>>;
}

function commentLines(text: string, indent: string, width = 100): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + 2 + line.length + 1 + word.length > width) {
      out.push(`${indent}# ${line}`);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(`${indent}# ${line}`);
  return out;
}

/**
 * The commented YAML template of every question, all answers empty. It parses back to no answers.
 *
 * @example
 * writeFileSync('datasheet.yaml', datasheetTemplate('spam emails'));
 */
export function datasheetTemplate(name = ''): string {
  const lines = [
    '# Datasheet answers for `switchyard datasheet` (after Gebru et al., "Datasheets for Datasets").',
    '# Answer what only a person knows: why the data exists, where it came from, consent, license, upkeep.',
    '# Leave an answer empty and the datasheet flags it as open. The audit fills in what the data itself shows',
    '# (sizes, columns, missing values, duplicates, label balance, groups, known issues); anything you write',
    '# under composition is shown next to those facts. Several lines: use a block scalar, e.g.',
    '#   purpose: |',
    '#     First paragraph.',
    '#     More text.',
    '',
    `name: ${name ? JSON.stringify(name) : ''}`,
  ];
  for (const s of DATASHEET_SECTIONS) {
    lines.push('', `${s.id}:`);
    for (const q of s.questions) lines.push(...commentLines(q.question, '  '), `  ${q.key}:`);
  }
  return lines.join('\n') + '\n';
}

function where(file: string, lc: LineCounter, node: Node | null | undefined): string {
  const pos = node?.range?.[0];
  if (pos === undefined) return file;
  const { line, col } = lc.linePos(pos);
  return `${file}:${line}:${col}`;
}

function answerText(file: string, lc: LineCounter, node: unknown, path: string): string | undefined {
  if (node === null || node === undefined) return undefined;
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return undefined;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v).trim() || undefined;
    if (v instanceof Date) return v.toISOString().slice(0, 10);
  }
  if (isSeq(node)) {
    const items = node.items.map((it, i) => answerText(file, lc, it, `${path}[${i}]`)).filter((x): x is string => !!x);
    return items.length ? items.map((x) => `- ${x}`).join('\n') : undefined;
  }
  throw new SwitchyardError('E_DATASHEET_ANSWER', `${where(file, lc, node as Node)}: ${path} must be text (or a list of texts)`, 'write the answer as a string; for several lines use a block scalar (`key: |` then indented lines)');
}

/**
 * Parses a filled-in answers file. `file` only names the place in errors.
 *
 * @example
 * const a = parseDatasheetAnswers(readFileSync('datasheet.yaml', 'utf8'), 'datasheet.yaml');
 * a.answers.motivation?.purpose; // 'Train a spam filter for ...'
 */
export function parseDatasheetAnswers(text: string, file: string): DatasheetAnswers {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const { line, col } = lc.linePos(err.pos[0]);
    throw new SwitchyardError('E_YAML', `${file}:${line}:${col}: ${err.message.split('\n')[0]}`, 'fix the YAML syntax there (indent with spaces; quote answers that contain ": " or start with a special character)');
  }
  const out: DatasheetAnswers = { answers: {} };
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return out;
  if (!isMap(root)) throw new SwitchyardError('E_DATASHEET_ANSWER', `${where(file, lc, root)}: expected a mapping of sections (motivation:, collection:, ...)`, 'start from the template: switchyard datasheet --init');
  const sectionIds = DATASHEET_SECTIONS.map((s) => s.id);
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key === 'name') {
      out.name = answerText(file, lc, pair.value, 'name');
      continue;
    }
    const spec = DATASHEET_SECTIONS.find((s) => s.id === key);
    if (!spec) throw new SwitchyardError('E_DATASHEET_ANSWER', `${where(file, lc, pair.key as Node)}: unknown section '${key}'`, `sections are: name, ${sectionIds.join(', ')}`);
    if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) continue;
    if (!isMap(pair.value)) throw new SwitchyardError('E_DATASHEET_ANSWER', `${where(file, lc, pair.value as Node)}: section '${key}' must be a mapping of questions`, `questions of ${key}: ${spec.questions.map((x) => x.key).join(', ')}`);
    const answers: Record<string, string> = {};
    for (const qp of pair.value.items) {
      const qk = isScalar(qp.key) ? String(qp.key.value) : '';
      if (!spec.questions.some((x) => x.key === qk)) throw new SwitchyardError('E_DATASHEET_ANSWER', `${where(file, lc, qp.key as Node)}: unknown question '${qk}' in section '${key}'`, `questions of ${key}: ${spec.questions.map((x) => x.key).join(', ')}`);
      const text = answerText(file, lc, qp.value, `${key}.${qk}`);
      if (text) answers[qk] = text;
    }
    if (Object.keys(answers).length) out.answers[key] = answers;
  }
  return out;
}
