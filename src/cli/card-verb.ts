import { existsSync, readFileSync } from 'node:fs';
import { isPostgresUrl } from '../registry/db.ts';
import { openRegistry } from '../registry/registry.ts';
import { MODEL_CARD_ANSWERS } from '../report/card-questions.ts';
import { answersTemplate, parseAnswers, type DatasheetAnswers } from '../report/datasheet-answers.ts';
import { collectEvidence, type ModelEvidence } from '../report/evidence.ts';
import { buildModelCard } from '../report/model-card.ts';
import { writeModelCard } from '../report/model-card-render.ts';
import { SwitchyardError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { checkOutputs } from '../util/paths.ts';
import { COMMON_FLAGS, formatHelp, parseArgs } from './args.ts';
import { emitJson } from './output.ts';

/**
 * Flags shared by `switchyard card` and `switchyard governance`: the registry, the version, the answers file.
 *
 * @example
 * parseArgs(['--model', 'penguins@production'], { ...EVIDENCE_FLAGS }, 'card');
 */
export const EVIDENCE_FLAGS = {
  registry: { type: 'string', help: 'registry directory or postgres:// URL (default: $SWITCHYARD_REGISTRY or ./registry)' },
  model: { type: 'string', help: 'the version: NAME@ALIAS, NAME@VERSION or NAME (latest) (required unless --init)' },
  answers: { type: 'string', help: 'YAML with what only a person knows (with --init: where to write the template; default card.yaml)' },
} as const;

const CARD_SPEC = {
  ...COMMON_FLAGS,
  ...EVIDENCE_FLAGS,
  out: { type: 'string', default: '.', valueName: 'dir', help: 'directory for MODEL_CARD.md, MODEL_CARD.html, MODEL_CARD.json and evidence/' },
  init: { type: 'boolean', help: 'write a commented answers template and exit' },
  force: { type: 'boolean', help: 'with --init: overwrite an existing answers file' },
  strict: { type: 'boolean', help: 'exit 3 when evidence is missing or a question is open' },
} as const;

const SUMMARY = 'Write a model card (Mitchell et al.) of a registry version: every number from its linked reports, with a link to its source field; your answers for the rest.';

/**
 * Reads the answers file (or none) and the evidence of `--model` from `--registry`: the common first half of
 * `card` and `governance`.
 *
 * @example
 * const { ev, answers } = await loadCardInputs({ registry: 'registry', model: 'penguins@production' }, 'card');
 */
export async function loadCardInputs(a: { registry?: string; model?: string; answers?: string }, verb: string): Promise<{ ev: ModelEvidence; answers: DatasheetAnswers }> {
  if (!a.model) throw new SwitchyardError('E_USAGE', `missing --model for 'switchyard ${verb}'`, 'pass --model NAME@ALIAS, e.g. --model penguins@production');
  let answers: DatasheetAnswers = { answers: {} };
  if (a.answers) {
    if (!existsSync(a.answers)) throw new SwitchyardError('E_FILE_NOT_FOUND', `${a.answers}: no such file (--answers)`, 'write one with switchyard card --init');
    answers = parseAnswers(readFileSync(a.answers, 'utf8'), a.answers, MODEL_CARD_ANSWERS);
  }
  const reg = await openRegistry(a.registry ?? process.env.SWITCHYARD_REGISTRY ?? 'registry');
  try {
    return { ev: await collectEvidence(reg, a.model), answers };
  } finally {
    await reg.close();
  }
}

/**
 * The registry location as an input path for `checkOutputs` (none for a PostgreSQL URL).
 *
 * @example
 * registryInput(undefined); // { flag: '--registry', path: 'registry' }
 */
export function registryInput(registry: string | undefined): { flag: string; path: string | undefined } {
  const where = registry ?? process.env.SWITCHYARD_REGISTRY ?? 'registry';
  return { flag: '--registry', path: isPostgresUrl(where) ? undefined : where };
}

/**
 * `switchyard card`
 *
 * @example
 * await cardVerb(['--registry', 'registry', '--model', 'penguins@production', '--answers', 'card.yaml', '--out', 'card']);
 */
export async function cardVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, CARD_SPEC, 'card');
  if (a.help) return void process.stdout.write(formatHelp('card', SUMMARY, CARD_SPEC)), 0;
  if (a.init) {
    const file = a.answers ?? 'card.yaml';
    checkOutputs([{ flag: '--answers', path: file, kind: 'file' }], []);
    if (existsSync(file) && !a.force) throw new SwitchyardError('E_EXISTS', `${file}: already exists`, 'edit it, or pass --force to overwrite it with an empty template');
    await writeFileAtomic(file, answersTemplate(MODEL_CARD_ANSWERS, a.model?.split('@')[0] ?? ''));
    if (a.json) emitJson({ ok: true, template: file });
    else process.stdout.write(`wrote ${file}: answer the questions, then run switchyard card --model NAME@ALIAS --answers ${file}\n`);
    return 0;
  }
  checkOutputs([{ flag: '--out', path: a.out, kind: 'dir' }], [registryInput(a.registry), { flag: '--answers', path: a.answers }]);
  const { ev, answers } = await loadCardInputs(a, 'card');
  const card = buildModelCard(ev, answers);
  const files = await writeModelCard(a.out, card, ev);
  const code = a.strict && (card.missing.length || card.openQuestions.length) ? 3 : 0;
  if (a.json) emitJson({ ok: code === 0, ...files, missing: card.missing, openQuestions: card.openQuestions, checks: card.checks });
  else {
    process.stdout.write(`wrote ${files.md} and ${files.html} for ${card.model.name}@${card.model.version}: ${card.missing.length} pieces of evidence missing, ${card.openQuestions.length} questions open\n`);
    if (!a.quiet) for (const m of card.missing) process.stderr.write(`missing: ${m.what} (${m.how})\n`);
  }
  return code;
}
