import { join } from 'node:path';
import { buildRiskProfile, evaluateGates, parseFailOn, riskProfileReportDoc } from '../governance/profile.ts';
import { renderReport, writeReportFiles } from '../report/html.ts';
import { checkOutputs } from '../util/paths.ts';
import { COMMON_FLAGS, formatHelp, parseArgs } from './args.ts';
import { EVIDENCE_FLAGS, loadCardInputs, registryInput } from './card-verb.ts';
import { emitJson } from './output.ts';

const GOVERNANCE_SPEC = {
  ...COMMON_FLAGS,
  ...EVIDENCE_FLAGS,
  out: { type: 'string', default: '.', valueName: 'dir', help: 'directory for governance.json and governance.html' },
  'fail-on': {
    type: 'list', valueName: 'status=selector',
    help: "release gate, exit 3: missing=SEL fails when a selected row has no evidence, partial=SEL when it is not fully evidenced; SEL: all, nist, iso, GOVERN, MEASURE 2, MEASURE 2.11, A.6, A.6.2.4 (e.g. --fail-on 'missing=MEASURE 2.11,MANAGE 4.1')",
  },
} as const;

const SUMMARY = 'Map NIST AI RMF 1.0 subcategories and ISO/IEC 42001 Annex A controls to the evidence of a registry version: evidenced, partial or missing.';

/**
 * `switchyard governance`
 *
 * @example
 * await governanceVerb(['--registry', 'registry', '--model', 'penguins@production', '--fail-on', 'missing=MEASURE 2.11']);
 */
export async function governanceVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, GOVERNANCE_SPEC, 'governance');
  if (a.help) return void process.stdout.write(formatHelp('governance', SUMMARY, GOVERNANCE_SPEC)), 0;
  const gates = parseFailOn(a['fail-on']);
  checkOutputs([{ flag: '--out', path: join(a.out, 'governance.json'), kind: 'file' }], [registryInput(a.registry), { flag: '--answers', path: a.answers }]);
  const { ev, answers } = await loadCardInputs(a, 'governance');
  const profile = buildRiskProfile(ev, answers);
  const results = evaluateGates(profile, gates);
  const files = await writeReportFiles(a.out, 'governance', { ...profile, gates: results }, renderReport(riskProfileReportDoc(profile, results)));
  const failed = results.filter((r) => r.ids.length);
  if (a.json) emitJson({ ok: failed.length === 0, ...files, counts: profile.counts, gates: results });
  else {
    const c = profile.counts;
    const line = (k: string, name: string) => (c[k] ? `${name}: ${c[k].evidenced} evidenced, ${c[k].partial} partial, ${c[k].missing} missing` : '');
    process.stdout.write(`wrote ${files.json} and ${files.html} for ${profile.model.name}@${profile.model.version}\n  ${line('nist-ai-rmf', 'NIST AI RMF subcategories')}\n  ${line('iso-42001', 'ISO/IEC 42001 Annex A controls')}\n`);
    for (const f of failed) process.stdout.write(`gate ${f.gate.status}=${f.gate.selector} failed: ${f.ids.join(', ')}\n`);
  }
  return failed.length ? 3 : 0;
}
