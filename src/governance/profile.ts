/**
 * The risk-management profile of a registry version: every NIST AI RMF 1.0 subcategory and every ISO/IEC
 * 42001 Annex A control of mapping.json (the one mapping table, data), each marked evidenced, partial or
 * missing from the signals it names, with what was found and where; a release gate (`--fail-on`) over it.
 */
import { didYouMean } from '../data/values.ts';
import type { DatasheetAnswers } from '../report/datasheet-answers.ts';
import type { ModelEvidence } from '../report/evidence.ts';
import type { Cell, CheckRow, ReportDoc } from '../report/html.ts';
import { SwitchyardError } from '../util/errors.ts';
import MAPPING from './mapping.json' with { type: 'json' };
import { evaluateSignal, type SignalResult } from './signals.ts';

/**
 * One row of mapping.json.
 *
 * @example
 * const r: MappingRow = { framework: 'nist-ai-rmf', id: 'MEASURE 2.11', text: 'Fairness and bias are evaluated…', evidence: ['eval.fairness'] };
 */
export interface MappingRow {
  framework: 'nist-ai-rmf' | 'iso-42001';
  id: string;
  /** NIST: the subcategory, summarised. */
  text?: string;
  /** ISO: the control's short title as publicly listed. */
  title?: string;
  evidence: string[];
}

/**
 * The mapping table (src/governance/mapping.json).
 *
 * @example
 * GOVERNANCE_MAPPING.rows.filter((r) => r.framework === 'nist-ai-rmf').length; // 72
 */
export const GOVERNANCE_MAPPING = MAPPING as { sources: Record<string, string>; evidence: Record<string, string>; rows: MappingRow[] };

/**
 * How well a subcategory or control is evidenced.
 *
 * @example
 * const s: EvidenceStatus = 'partial';
 */
export type EvidenceStatus = 'evidenced' | 'partial' | 'missing';

/**
 * One row of a profile.
 *
 * @example
 * profile.rows.find((r) => r.id === 'MANAGE 4.1')!.status; // 'partial'
 */
export interface ProfileRow extends MappingRow {
  /** `GOVERN`, `MAP`, `MEASURE`, `MANAGE`, or the ISO clause (`A.6`). */
  group: string;
  status: EvidenceStatus;
  found: SignalResult[];
}

/**
 * A risk profile (written as `governance.json`).
 *
 * @example
 * const p: RiskProfile = buildRiskProfile(ev, answers);
 */
export interface RiskProfile {
  format: 'switchyard.risk-profile';
  version: 1;
  created: string;
  model: { name: string; version: number; ref: string; registry: string };
  sources: Record<string, string>;
  counts: Record<string, Record<EvidenceStatus, number>>;
  rows: ProfileRow[];
}

/** `MEASURE 2.11` → `MEASURE`; `A.6.2.4` → `A.6`. */
function groupOf(id: string): string {
  return id.startsWith('A.') ? id.split('.').slice(0, 2).join('.') : id.split(' ')[0];
}

/**
 * Builds the profile of a version from its evidence and the answers file.
 *
 * @param ev from `collectEvidence`
 * @param a the parsed answers (card.yaml)
 * @example
 * const p = buildRiskProfile(await collectEvidence(reg, 'penguins@production'), answers);
 */
export function buildRiskProfile(ev: ModelEvidence, a: DatasheetAnswers = { answers: {} }, created = new Date().toISOString()): RiskProfile {
  const rows = GOVERNANCE_MAPPING.rows.map((r): ProfileRow => {
    const found = r.evidence.map((s) => evaluateSignal(s, ev, a));
    const n = found.filter((f) => f.present).length;
    const status: EvidenceStatus = n > 0 && n === found.length ? 'evidenced' : n > 0 ? 'partial' : 'missing';
    return { ...r, group: groupOf(r.id), status, found };
  });
  const counts: RiskProfile['counts'] = {};
  for (const r of rows) (counts[r.framework] ??= { evidenced: 0, partial: 0, missing: 0 })[r.status]++;
  const v = ev.version;
  return { format: 'switchyard.risk-profile', version: 1, created, model: { name: v.name, version: v.version, ref: ev.ref, registry: ev.registry }, sources: GOVERNANCE_MAPPING.sources, counts, rows };
}

/**
 * One release-gate rule of `--fail-on`: fail when a selected row is `missing` (or, for `partial`, anything but evidenced).
 *
 * @example
 * const g: Gate = { status: 'missing', selector: 'MEASURE 2.11' };
 */
export interface Gate {
  status: 'missing' | 'partial';
  selector: string;
}

/** A selector picks rows: `all`, `nist`, `iso`, a function (`MEASURE`), a category (`MEASURE 2`), an id, or an ISO prefix (`A.6`). */
function selects(selector: string, r: MappingRow): boolean {
  const s = selector.trim().toUpperCase().replace(/\s+/g, ' ');
  if (s === 'ALL') return true;
  if (s === 'NIST') return r.framework === 'nist-ai-rmf';
  if (s === 'ISO') return r.framework === 'iso-42001';
  const id = r.id.toUpperCase();
  return id === s || id.startsWith(s + '.') || (!s.includes(' ') && !s.startsWith('A.') && id.startsWith(s + ' '));
}

/**
 * Parses `--fail-on` entries: `missing=SEL` or `partial=SEL`, and bare `SEL` entries that take the status
 * of the entry before them (so `--fail-on missing=MEASURE 2.11,MANAGE 4.1` is two rules). A selector that
 * matches no row, or a status other than missing/partial, is `E_USAGE`.
 *
 * @param entries the list flag's values
 * @example
 * parseFailOn(['missing=MEASURE 2.11', 'MANAGE 4.1', 'partial=GOVERN']);
 * // [{ status: 'missing', selector: 'MEASURE 2.11' }, { status: 'missing', selector: 'MANAGE 4.1' }, { status: 'partial', selector: 'GOVERN' }]
 */
export function parseFailOn(entries: readonly string[]): Gate[] {
  const hint = "e.g. --fail-on 'missing=MEASURE 2.11,MANAGE 4.1' or --fail-on partial=MEASURE (selectors: all, nist, iso, GOVERN, MAP, MEASURE, MANAGE, MEASURE 2, MEASURE 2.11, A.6, A.6.2.4)";
  const gates: Gate[] = [];
  let status: Gate['status'] | undefined;
  for (const raw of entries) {
    const m = /^\s*([a-z]+)\s*=(.*)$/i.exec(raw);
    if (m) {
      const s = m[1].toLowerCase();
      if (s !== 'missing' && s !== 'partial') throw new SwitchyardError('E_USAGE', `--fail-on '${raw}': '${m[1]}' is not missing or partial`, hint);
      status = s;
    } else if (!status) throw new SwitchyardError('E_USAGE', `--fail-on '${raw}': say which status fails first`, hint);
    const selector = (m ? m[2] : raw).trim();
    if (!GOVERNANCE_MAPPING.rows.some((r) => selects(selector, r))) {
      const guess = didYouMean(selector, GOVERNANCE_MAPPING.rows.map((r) => r.id));
      throw new SwitchyardError('E_USAGE', `--fail-on '${raw}': '${selector}' selects no subcategory or control`, guess ? `did you mean '${guess}'? ${hint}` : hint);
    }
    gates.push({ status: status!, selector });
  }
  return gates;
}

/**
 * The rows each gate fails on (empty `ids` when it holds).
 *
 * @example
 * evaluateGates(profile, parseFailOn(['missing=MEASURE 2.11'])); // [{ gate: {…}, ids: [] }]
 */
export function evaluateGates(p: RiskProfile, gates: readonly Gate[]): { gate: Gate; ids: string[] }[] {
  return gates.map((gate) => ({
    gate,
    ids: p.rows.filter((r) => selects(gate.selector, r) && (r.status === 'missing' || (gate.status === 'partial' && r.status === 'partial'))).map((r) => r.id),
  }));
}

const GROUP_TITLES: Record<string, string> = {
  GOVERN: 'NIST AI RMF: GOVERN', MAP: 'NIST AI RMF: MAP', MEASURE: 'NIST AI RMF: MEASURE', MANAGE: 'NIST AI RMF: MANAGE',
  'A.2': 'ISO/IEC 42001 A.2 Policies related to AI', 'A.3': 'ISO/IEC 42001 A.3 Internal organization', 'A.4': 'ISO/IEC 42001 A.4 Resources for AI systems',
  'A.5': 'ISO/IEC 42001 A.5 Assessing impacts of AI systems', 'A.6': 'ISO/IEC 42001 A.6 AI system life cycle', 'A.7': 'ISO/IEC 42001 A.7 Data for AI systems',
  'A.8': 'ISO/IEC 42001 A.8 Information for interested parties', 'A.9': 'ISO/IEC 42001 A.9 Use of AI systems', 'A.10': 'ISO/IEC 42001 A.10 Third-party and customer relationships',
};

function evidenceCell(found: SignalResult[]): string {
  return found.map((f) => `${f.present ? 'found' : 'missing'}: ${f.detail}${f.source ? ` [${f.source.file}${f.source.pointer ? `#${f.source.pointer}` : ''}]` : ''}`).join('\n') || 'nothing Switchyard can hold: an organisational practice to document elsewhere';
}

/**
 * The profile as a report page (governance.html): the checks (one per function or clause, and each gate), then
 * one table per function or clause.
 *
 * @param p the profile
 * @param gates evaluated `--fail-on` rules
 * @example
 * await writeFileAtomic('governance.html', renderReport(riskProfileReportDoc(p, evaluateGates(p, gates))));
 */
export function riskProfileReportDoc(p: RiskProfile, gates: { gate: Gate; ids: string[] }[] = []): ReportDoc {
  const groups = [...new Set(p.rows.map((r) => r.group))];
  const checks: CheckRow[] = groups.map((g) => {
    const rows = p.rows.filter((r) => r.group === g);
    const n = (s: EvidenceStatus) => rows.filter((r) => r.status === s).length;
    return { check: GROUP_TITLES[g] ?? g, status: n('evidenced') === rows.length ? 'pass' : n('missing') === rows.length ? 'missing' : 'warn', detail: `${n('evidenced')} evidenced, ${n('partial')} partial, ${n('missing')} missing of ${rows.length}`, section: g.toLowerCase().replace(/\./g, '-') };
  });
  for (const { gate, ids } of gates) checks.push({ check: `release gate ${gate.status}=${gate.selector}`, status: ids.length ? 'fail' : 'pass', detail: ids.length ? `not evidenced: ${ids.join(', ')}` : 'holds' });
  const nist = p.counts['nist-ai-rmf'];
  return {
    title: `Risk profile: ${p.model.name} version ${p.model.version}`,
    subtitle: 'NIST AI RMF 1.0 subcategories and ISO/IEC 42001 Annex A controls mapped to the evidence Switchyard holds for this version. Evidenced means the evidence exists, not that its results are good.',
    meta: [['reference', p.model.ref], ['registry', p.model.registry], ['written', p.created.slice(0, 10)], ['NIST subcategories', nist ? `${nist.evidenced} evidenced, ${nist.partial} partial, ${nist.missing} missing` : '—'], ['sources', Object.values(p.sources).join('\n')]],
    checks,
    sections: groups.map((g) => ({
      id: g.toLowerCase().replace(/\./g, '-'),
      title: GROUP_TITLES[g] ?? g,
      blocks: [{ kind: 'table', columns: ['id', p.rows.find((r) => r.group === g)!.framework === 'iso-42001' ? 'control title' : 'subcategory (summarised)', 'status', 'evidence'], rows: p.rows.filter((r) => r.group === g).map((r): Cell[] => [r.id, r.text ?? r.title ?? '', r.status, evidenceCell(r.found)]) }],
    })),
  };
}
