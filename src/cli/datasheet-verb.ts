import { checkOutputs } from '../util/paths.ts';
import { existsSync, readFileSync } from 'node:fs';
import { buildDatasheet, datasheetReportDoc, renderDatasheetMarkdown } from '../report/datasheet.ts';
import { datasheetTemplate, parseDatasheetAnswers, type DatasheetAnswers } from '../report/datasheet-answers.ts';
import { readAuditJson } from '../report/audit-view.ts';
import { renderReport } from '../report/html.ts';
import { SwitchyardError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { COMMON_FLAGS, formatHelp, parseArgs } from './args.ts';
import { emitJson } from './output.ts';

const DATASHEET_SPEC = {
  ...COMMON_FLAGS,
  audit: { type: 'string', help: 'audit.json written by switchyard audit (required unless --init)' },
  answers: { type: 'string', help: 'YAML with what only a person knows (with --init: where to write the template; default datasheet.yaml)' },
  out: { type: 'string', default: 'DATASHEET.md', valueName: 'file', help: 'Markdown datasheet file to write' },
  html: { type: 'string', valueName: 'file', help: 'also write the datasheet as a self-contained HTML page here' },
  init: { type: 'boolean', help: 'write a commented answers template and exit' },
  force: { type: 'boolean', help: 'with --init: overwrite an existing answers file' },
  strict: { type: 'boolean', help: 'exit 3 when any section is left empty' },
} as const;

const SUMMARY = 'Write a Datasheet for Datasets (Gebru et al.) from an audit plus your answers; flags sections left empty.';

/** `switchyard datasheet` */
export async function datasheetVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, DATASHEET_SPEC, 'datasheet');
  if (a.help) return void process.stdout.write(formatHelp('datasheet', SUMMARY, DATASHEET_SPEC)), 0;
  if (a.init) {
    const file = a.answers ?? 'datasheet.yaml';
    checkOutputs([{ flag: '--answers', path: file, kind: 'file' }], [{ flag: '--audit', path: a.audit }]);
    if (existsSync(file) && !a.force) throw new SwitchyardError('E_EXISTS', `${file}: already exists`, 'edit it, or pass --force to overwrite it with an empty template');
    const name = a.audit ? readAuditJson(a.audit).splits.map((s) => s.file.split('/').pop()).join(', ') : '';
    await writeFileAtomic(file, datasheetTemplate(name));
    if (a.json) emitJson({ ok: true, template: file });
    else process.stdout.write(`wrote ${file}: answer the questions, then run switchyard datasheet --audit AUDIT.json --answers ${file}\n`);
    return 0;
  }
  if (!a.audit) throw new SwitchyardError('E_USAGE', "missing --audit for 'switchyard datasheet'", 'pass --audit reports/audit/audit.json (or --init to write an answers template)');
  checkOutputs([{ flag: '--out', path: a.out, kind: 'file' }, { flag: '--html', path: a.html, kind: 'file' }], [{ flag: '--audit', path: a.audit }, { flag: '--answers', path: a.answers }]);
  const audit = readAuditJson(a.audit);
  let answers: DatasheetAnswers = { answers: {} };
  if (a.answers) {
    if (!existsSync(a.answers)) throw new SwitchyardError('E_FILE_NOT_FOUND', `${a.answers}: no such file (--answers)`, 'write one with switchyard datasheet --init');
    answers = parseDatasheetAnswers(readFileSync(a.answers, 'utf8'), a.answers);
  }
  const ds = buildDatasheet(audit, answers);
  await writeFileAtomic(a.out, renderDatasheetMarkdown(ds));
  if (a.html) await writeFileAtomic(a.html, renderReport(datasheetReportDoc(ds)));
  const code = a.strict && ds.emptySections.length ? 3 : 0;
  if (a.json) emitJson({ ok: code === 0, out: a.out, html: a.html ?? null, sections: ds.sections.length, emptySections: ds.emptySections, openQuestions: ds.openQuestions });
  else process.stdout.write(`wrote ${a.out}${a.html ? ` and ${a.html}` : ''}: ${ds.sections.length - ds.emptySections.length} of ${ds.sections.length} sections filled, ${ds.openQuestions.length} questions open\n`);
  if (ds.emptySections.length && !a.quiet) process.stderr.write(`empty sections: ${ds.emptySections.join(', ')}${a.answers ? '' : ' (no --answers given; switchyard datasheet --init writes a template)'}\n`);
  return code;
}
