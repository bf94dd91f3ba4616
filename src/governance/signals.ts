/**
 * The evidence signals the risk-profile mapping (mapping.json) refers to: each one looks at the evidence of a
 * version (its record, linked reports, registry history, the monitor's tables) or the person's answers and
 * says whether that evidence exists, in words, with the file and field it was found in. A signal never judges
 * whether a result is good: that a fairness evaluation exists is evidence for MEASURE 2.11, whatever it found.
 */
import { MODEL_CARD_SECTIONS } from '../report/card-questions.ts';
import type { DatasheetAnswers } from '../report/datasheet-answers.ts';
import { factAt, fileOf, type EvidenceFile, type ModelEvidence, type SourceRef } from '../report/evidence.ts';

/**
 * What one signal found.
 *
 * @example
 * const s: SignalResult = { signal: 'eval.fairness', present: true, detail: 'fairness across Sex', source: { file: 'reports/eval/eval.json', pointer: '/scores/fairness', sha256: 'ab…' } };
 */
export interface SignalResult {
  signal: string;
  present: boolean;
  detail: string;
  source?: SourceRef;
}

type Probe = (ev: ModelEvidence) => SignalResult | Omit<SignalResult, 'signal'>;

const len = (f: EvidenceFile | undefined, pointer: string): number => {
  const v = factAt(f, pointer, '')?.value;
  return Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0;
};

/** Present when `pointer` of the first file of `kind` holds a non-empty value. */
function field(kind: 'eval' | 'audit' | 'compress' | 'drift' | 'version', pointer: string, what: string, hint: string): Probe {
  return (ev) => {
    const f = fileOf(ev, kind);
    const fact = factAt(f, pointer, what);
    const n = len(f, pointer);
    const present = !!fact && (typeof fact.value !== 'object' || n > 0);
    return present ? { present, detail: `${what}${n > 1 ? ` (${n})` : ''}`, source: fact!.source } : { present, detail: f ? `${kind} report has no ${what}: ${hint}` : `no ${kind} report linked: ${hint}` };
  };
}

const PROBES: Record<string, Probe> = {
  'registry.version': (ev) => ({ present: true, detail: `${ev.version.name}@${ev.version.version} registered ${ev.version.createdAt} by ${ev.version.createdBy}`, source: factAt(fileOf(ev, 'version'), '/createdAt', '')?.source }),
  'registry.history': (ev) => {
    const why = ev.history.filter((h) => h.reason).length;
    return { present: why > 0, detail: `${ev.history.length} registry events, ${why} with a reason${why ? '' : ' (pass --reason when registering and promoting)'}` };
  },
  'registry.lineage.data': (ev) => {
    const data = (ev.version.lineage.data as { missing?: boolean }[] | undefined) ?? [];
    const ok = data.length > 0 && data.every((d) => !d.missing);
    return { present: ok, detail: ok ? `${data.length} training data file(s) fingerprinted` : 'no training data fingerprint (register a run directory whose data exists)', source: ok ? factAt(fileOf(ev, 'version'), '/lineage/data', '')?.source : undefined };
  },
  'registry.lineage.code': field('version', '/lineage/code/version', 'code version in the lineage', 'register with this version of switchyard'),
  'registry.rollback': (ev) => {
    const moves = ev.history.filter((h) => h.action === 'rollback' || (h.action === 'alias' && h.from !== undefined));
    return { present: moves.length > 0, detail: moves.length ? `${moves.length} alias move(s) from an earlier version or rollbacks recorded` : 'no alias has moved from an earlier version yet (registry rollback needs one)' };
  },
  'audit.data': field('audit', '/summary', 'data audit', 'switchyard audit, then registry register --audit'),
  'audit.split': field('audit', '/splits/1', 'train/test comparison in the audit', 'switchyard audit --test TEST.csv'),
  'audit.bias': field('audit', '/options/sensitive', 'sensitive columns audited', 'switchyard audit --sensitive COLUMN'),
  'eval.metrics': field('eval', '/scores/overall', 'metrics with confidence intervals', 'switchyard eval, then registry register --eval'),
  'eval.slices': field('eval', '/scores/slices', 'metrics per slice', 'switchyard eval --slice COLUMN'),
  'eval.fairness': field('eval', '/scores/fairness', 'fairness across sensitive groups', 'switchyard eval --sensitive COLUMN'),
  'eval.calibration': field('eval', '/scores/calibration', 'calibration', 'switchyard eval on a classifier'),
  'eval.robustness': field('eval', '/robustness/corruptions', 'metrics under corruptions', 'switchyard eval without --no-corruptions'),
  'eval.adversarial': field('eval', '/robustness/adversarial', 'robust accuracy under attacks', 'switchyard eval --adversarial'),
  'eval.ood': field('eval', '/ood', 'out-of-distribution detection', 'switchyard eval on a classifier'),
  'compress.check': field('compress', '/check', 'int8 check against float32', 'switchyard compress --report FILE, then registry register --compress FILE'),
  'security.review': (ev) => {
    const f = ev.files.find((x) => x.link === 'security');
    return f ? { present: true, detail: `security review ${f.path}`, source: { file: f.path, pointer: '', sha256: f.sha256 } } : { present: false, detail: 'no security review linked (registry register --security FILE)' };
  },
  'monitor.logging': (ev) => ({ present: ev.monitor.predictions > 0, detail: ev.monitor.predictions ? `${ev.monitor.predictions} predictions logged` : 'no logged predictions (serve --monitor)' }),
  'monitor.feedback': (ev) => ({ present: ev.monitor.feedback > 0, detail: ev.monitor.feedback ? `${ev.monitor.feedback} labelled by feedback` : 'no feedback received (POST /v1/feedback)' }),
  'monitor.drift': field('drift', '/analysis/drift', 'drift report', 'switchyard monitor report, then link it to the next version with --drift'),
  'monitor.incidents': (ev) => {
    const i = ev.monitor.incidents;
    const resolved = i.filter((x) => x.status === 'resolved').length;
    return { present: i.length > 0, detail: i.length ? `${i.length} incident(s) recorded, ${resolved} resolved` : 'no incident recorded for the model (serve --monitor opens them from alerts and rollbacks)' };
  },
};

/**
 * Every signal id a mapping may use: the probes above and one `answer:SECTION.KEY` per answers question.
 *
 * @example
 * signalIds().includes('answer:governance.owner'); // true
 */
export function signalIds(): string[] {
  const answers = MODEL_CARD_SECTIONS.flatMap((s) => s.questions.map((q) => `answer:${s.id}.${q.key}`));
  return [...Object.keys(PROBES), ...answers];
}

/**
 * Evaluates one signal.
 *
 * @param signal a probe id or `answer:SECTION.KEY`
 * @param ev the version's evidence
 * @param a the person's answers
 * @example
 * evaluateSignal('eval.fairness', ev, answers).present;
 */
export function evaluateSignal(signal: string, ev: ModelEvidence, a: DatasheetAnswers): SignalResult {
  if (signal.startsWith('answer:')) {
    const [section, key] = signal.slice(7).split('.');
    const text = a.answers[section]?.[key];
    const q = MODEL_CARD_SECTIONS.find((s) => s.id === section)?.questions.find((x) => x.key === key);
    return { signal, present: !!text, detail: text ? `answered: ${text.length > 120 ? text.slice(0, 119) + '…' : text}` : `not answered: ${q?.question ?? signal} (${section}.${key} in the answers file)` };
  }
  const probe = PROBES[signal];
  if (!probe) throw new Error(`governance mapping: unknown evidence signal '${signal}'`);
  return { signal, ...probe(ev) };
}
