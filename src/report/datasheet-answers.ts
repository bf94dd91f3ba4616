/**
 * The person's half of a datasheet or a model card: a commented YAML template of every question
 * (`switchyard datasheet --init`, `switchyard card --init`) and a strict parser of the filled-in file.
 * Malformed YAML, an unknown section or question key, or an answer that is not text is a `SwitchyardError`
 * naming `file:line:column`.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { SwitchyardError } from '../util/errors.ts';
import { DATASHEET_SECTIONS, type DatasheetSectionSpec } from './datasheet-questions.ts';

/**
 * What an answers file asks: its sections of questions, the template's opening comment, the error code of a
 * wrong answer and the command that writes the template (named in hints).
 *
 * @example
 * const spec: AnswersSpec = { sections: DATASHEET_SECTIONS, header: ['# Datasheet answers'], errorCode: 'E_DATASHEET_ANSWER', initCommand: 'switchyard datasheet --init' };
 */
export interface AnswersSpec {
  sections: readonly DatasheetSectionSpec[];
  header: string[];
  errorCode: string;
  initCommand: string;
}

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

const DATASHEET_ANSWERS: AnswersSpec = {
  sections: DATASHEET_SECTIONS,
  errorCode: 'E_DATASHEET_ANSWER',
  initCommand: 'switchyard datasheet --init',
  header: [
    '# Datasheet answers for `switchyard datasheet` (after Gebru et al., "Datasheets for Datasets").',
    '# Answer what only a person knows: why the data exists, where it came from, consent, license, upkeep.',
    '# Leave an answer empty and the datasheet flags it as open. The audit fills in what the data itself shows',
    '# (sizes, columns, missing values, duplicates, label balance, groups, known issues); anything you write',
    '# under composition is shown next to those facts. Several lines: use a block scalar, e.g.',
    '#   purpose: |',
    '#     First paragraph.',
    '#     More text.',
  ],
};

/**
 * The commented YAML template of every question of `spec`, all answers empty. It parses back to no answers.
 *
 * @param spec the questions (e.g. the model card's)
 * @param name the value of the `name:` line
 * @example
 * writeFileSync('card.yaml', answersTemplate(MODEL_CARD_ANSWERS, 'penguins'));
 */
export function answersTemplate(spec: AnswersSpec, name = ''): string {
  const lines = [...spec.header, '', `name: ${name ? JSON.stringify(name) : ''}`];
  for (const s of spec.sections) {
    lines.push('', `${s.id}:`);
    for (const q of s.questions) lines.push(...commentLines(q.question, '  '), `  ${q.key}:`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The commented YAML template of every question, all answers empty. It parses back to no answers.
 *
 * @example
 * writeFileSync('datasheet.yaml', datasheetTemplate('spam emails'));
 */
export function datasheetTemplate(name = ''): string {
  return answersTemplate(DATASHEET_ANSWERS, name);
}

function where(file: string, lc: LineCounter, node: Node | null | undefined): string {
  const pos = node?.range?.[0];
  if (pos === undefined) return file;
  const { line, col } = lc.linePos(pos);
  return `${file}:${line}:${col}`;
}

function answerText(file: string, lc: LineCounter, node: unknown, path: string, code: string): string | undefined {
  if (node === null || node === undefined) return undefined;
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return undefined;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v).trim() || undefined;
    if (v instanceof Date) return v.toISOString().slice(0, 10);
  }
  if (isSeq(node)) {
    const items = node.items.map((it, i) => answerText(file, lc, it, `${path}[${i}]`, code)).filter((x): x is string => !!x);
    return items.length ? items.map((x) => `- ${x}`).join('\n') : undefined;
  }
  throw new SwitchyardError(code, `${where(file, lc, node as Node)}: ${path} must be text (or a list of texts)`, 'write the answer as a string; for several lines use a block scalar (`key: |` then indented lines)');
}

/**
 * Parses a filled-in answers file. `file` only names the place in errors.
 *
 * @example
 * const a = parseDatasheetAnswers(readFileSync('datasheet.yaml', 'utf8'), 'datasheet.yaml');
 * a.answers.motivation?.purpose; // 'Train a spam filter for ...'
 */
export function parseDatasheetAnswers(text: string, file: string): DatasheetAnswers {
  return parseAnswers(text, file, DATASHEET_ANSWERS);
}

/**
 * Parses a filled-in answers file asking the questions of `spec`. `file` only names the place in errors.
 *
 * @param text the YAML
 * @param file where it came from, for messages
 * @param spec the questions it answers
 * @example
 * const a = parseAnswers(readFileSync('card.yaml', 'utf8'), 'card.yaml', MODEL_CARD_ANSWERS);
 */
export function parseAnswers(text: string, file: string, spec: AnswersSpec): DatasheetAnswers {
  const code = spec.errorCode;
  const sections = spec.sections;
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
  const sectionIds = sections.map((s) => s.id);
  const example = sectionIds.slice(0, 2).map((id) => `${id}:`).join(', ');
  if (!isMap(root)) throw new SwitchyardError(code, `${where(file, lc, root)}: expected a mapping of sections (${example}, ...)`, `start from the template: ${spec.initCommand}`);
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key === 'name') {
      out.name = answerText(file, lc, pair.value, 'name', code);
      continue;
    }
    const section = sections.find((s) => s.id === key);
    if (!section) throw new SwitchyardError(code, `${where(file, lc, pair.key as Node)}: unknown section '${key}'`, `sections are: name, ${sectionIds.join(', ')}`);
    if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) continue;
    if (!isMap(pair.value)) throw new SwitchyardError(code, `${where(file, lc, pair.value as Node)}: section '${key}' must be a mapping of questions`, `questions of ${key}: ${section.questions.map((x) => x.key).join(', ')}`);
    const answers: Record<string, string> = {};
    for (const qp of pair.value.items) {
      const qk = isScalar(qp.key) ? String(qp.key.value) : '';
      if (!section.questions.some((x) => x.key === qk)) throw new SwitchyardError(code, `${where(file, lc, qp.key as Node)}: unknown question '${qk}' in section '${key}'`, `questions of ${key}: ${section.questions.map((x) => x.key).join(', ')}`);
      const text = answerText(file, lc, qp.value, `${key}.${qk}`, code);
      if (text) answers[qk] = text;
    }
    if (Object.keys(answers).length) out.answers[key] = answers;
  }
  return out;
}
