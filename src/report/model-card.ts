/**
 * A model card (Mitchell et al., "Model Cards for Model Reporting", FAT* 2019) of one registry version, built
 * from its evidence: every number is a {@link Fact} read from a linked report (eval, audit, compress, drift,
 * security) or the version record, with its file and JSON pointer; what a person must say comes from the
 * answers YAML; evidence that does not exist is listed as missing with the command that would produce it.
 */
import type { DatasheetAnswers } from './datasheet-answers.ts';
import { MODEL_CARD_SECTIONS } from './card-questions.ts';
import { factAt, fileOf, pointerOf, type EvidenceFile, type Fact, type ModelEvidence } from './evidence.ts';
import type { CheckRow } from './html.ts';

/**
 * One piece of a card section.
 *
 * @example
 * const i: CardItem = { kind: 'missing', what: 'slices', how: 'switchyard eval --slice COLUMN' };
 */
export type CardItem =
  | { kind: 'answer'; question: string; answer?: string }
  | { kind: 'facts'; facts: Fact[] }
  | { kind: 'table'; caption: string; columns: string[]; rows: (Fact | string | number | null)[][] }
  | { kind: 'missing'; what: string; how: string };

/**
 * One section of the card.
 *
 * @example
 * card.sections.find((s) => s.id === 'quantitative')!.items.length;
 */
export interface CardSection {
  id: string;
  title: string;
  items: CardItem[];
}

/**
 * A built model card (also written as `MODEL_CARD.json`).
 *
 * @example
 * const card: ModelCard = buildModelCard(ev, answers);
 * card.missing.map((m) => m.what);
 */
export interface ModelCard {
  format: 'switchyard.model-card';
  version: 1;
  created: string;
  model: { name: string; version: number; ref: string; registry: string; aliases: string[] };
  sections: CardSection[];
  /** Every evidence file the card read. */
  evidence: { link: string; path: string; sha256: string; kind: string }[];
  missing: { section: string; what: string; how: string }[];
  /** `section.key` of every human question left unanswered. */
  openQuestions: string[];
  checks: CheckRow[];
}

type Row = (Fact | string | number | null)[];
const defined = <T>(xs: (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);

/** The person's answers of one card section, each question once. */
function answers(a: DatasheetAnswers, id: string): CardItem[] {
  const spec = MODEL_CARD_SECTIONS.find((s) => s.id === id)!;
  return spec.questions.map((q) => ({ kind: 'answer', question: q.question, answer: a.answers[id]?.[q.key] }));
}

function details(ev: ModelEvidence): CardItem[] {
  const rec = fileOf(ev, 'version');
  const onnx = ev.version.artefacts.findIndex((x) => x.path === 'model.onnx' || x.path === 'model.safetensors');
  const facts = defined([
    factAt(rec, '/name', 'name'),
    factAt(rec, '/version', 'version'),
    factAt(rec, '/kind', 'kind'),
    factAt(rec, '/lineage/config/task', 'task'),
    factAt(rec, '/lineage/config/model/sizes', 'layer sizes', (v) => (v as number[]).join(' → ')),
    factAt(rec, '/lineage/config/model/activation', 'activation'),
    factAt(rec, '/createdAt', 'registered'),
    factAt(rec, '/createdBy', 'registered by'),
    factAt(rec, '/reason', 'reason'),
    factAt(rec, '/lineage/code/version', 'switchyard version'),
    factAt(rec, '/lineage/code/commit', 'code commit'),
    onnx >= 0 ? factAt(rec, pointerOf('artefacts', onnx, 'sha256'), `${ev.version.artefacts[onnx].path} SHA-256`) : undefined,
  ]);
  return [{ kind: 'facts', facts }];
}

function factors(ev: ModelEvidence): CardItem[] {
  const e = fileOf(ev, 'eval');
  const a = fileOf(ev, 'audit');
  const sliceCols = arr(e, '/scores/slices').map((_, i) => factAt(e, pointerOf('scores', 'slices', i, 'column'), 'sliced by'));
  const fairCols = arr(e, '/scores/fairness').map((_, i) => factAt(e, pointerOf('scores', 'fairness', i, 'column'), 'fairness across'));
  const sensitive = arr(a, '/options/sensitive').length ? factAt(a, '/options/sensitive', 'sensitive columns in the data audit', (v) => (v as string[]).join(', ')) : undefined;
  const facts = defined([...sliceCols, ...fairCols, sensitive]);
  const items: CardItem[] = facts.length ? [{ kind: 'facts', facts }] : [];
  if (!sliceCols.length) items.push({ kind: 'missing', what: 'performance per slice (no evaluated factor)', how: 'switchyard eval --slice COLUMN, then register the version with --eval' });
  if (!fairCols.length) items.push({ kind: 'missing', what: 'fairness across sensitive groups', how: 'switchyard eval --sensitive COLUMN (and --positive CLASS)' });
  return items;
}

function arr(f: EvidenceFile | undefined, pointer: string): unknown[] {
  const v = f ? factAt(f, pointer, '')?.value : undefined;
  return Array.isArray(v) ? v : [];
}

function metricRows(e: EvidenceFile, perClass: boolean): Row[] {
  const overall = (factAt(e, '/scores/overall', '')?.value ?? {}) as Record<string, unknown>;
  return Object.keys(overall).filter((k) => k.includes(':') === perClass).map((k) => {
    const at = (field: string) => factAt(e, pointerOf('scores', 'overall', k, field), `${k} ${field}`) ?? null;
    return [k, at('estimate'), at('low'), at('high')];
  });
}

function metrics(ev: ModelEvidence): CardItem[] {
  const e = fileOf(ev, 'eval');
  if (!e) return [{ kind: 'missing', what: 'evaluation report (metrics)', how: 'switchyard eval --model RUN --data TEST.csv --out reports/eval, then registry register --eval reports/eval' }];
  const facts = defined([factAt(e, '/scores/resamples', 'bootstrap resamples behind each 95% interval'), factAt(e, '/model/task', 'task')]);
  const names = metricRows(e, false).map((r) => r[0] as string);
  return [{ kind: 'facts', facts }, { kind: 'table', caption: 'measures reported (values under Quantitative analyses)', columns: ['measure'], rows: names.map((n) => [n]) }];
}

function evaluationData(ev: ModelEvidence): CardItem[] {
  const e = fileOf(ev, 'eval');
  const a = fileOf(ev, 'audit');
  const testSplit = arr(a, '/splits').findIndex((s) => (s as { split?: string }).split === 'test');
  const facts = defined([
    factAt(e, '/data/file', 'evaluation data'),
    factAt(e, '/data/rows', 'evaluation rows'),
    factAt(e, '/model/target', 'target'),
    factAt(e, '/created', 'evaluated'),
    testSplit >= 0 ? factAt(a, pointerOf('splits', testSplit, 'rows'), 'test rows in the data audit') : undefined,
  ]);
  return facts.length ? [{ kind: 'facts', facts }] : [{ kind: 'missing', what: 'evaluation data', how: 'link an eval report when registering (registry register --eval DIR)' }];
}

function trainingData(ev: ModelEvidence): CardItem[] {
  const rec = fileOf(ev, 'version');
  const a = fileOf(ev, 'audit');
  const items: CardItem[] = [];
  const data = arr(rec, '/lineage/data').map((_, i): Row => [
    factAt(rec, pointerOf('lineage', 'data', i, 'path'), 'path') ?? null,
    factAt(rec, pointerOf('lineage', 'data', i, 'sha256'), 'SHA-256') ?? null,
    factAt(rec, pointerOf('lineage', 'data', i, 'bytes'), 'bytes') ?? null,
  ]);
  if (data.length) items.push({ kind: 'table', caption: 'training data recorded in the lineage at registration', columns: ['file', 'SHA-256', 'bytes'], rows: data });
  else items.push({ kind: 'missing', what: 'training data fingerprint', how: 'register a run directory (not a bare .onnx file) so its data is fingerprinted' });
  if (!a) return [...items, { kind: 'missing', what: 'data audit of the training data', how: 'switchyard audit --data TRAIN.csv --target COL --out reports/audit, then registry register --audit reports/audit' }];
  const splits = arr(a, '/splits').map((_, i): Row => [
    factAt(a, pointerOf('splits', i, 'split'), 'split') ?? null,
    factAt(a, pointerOf('splits', i, 'file'), 'file') ?? null,
    factAt(a, pointerOf('splits', i, 'rows'), 'rows') ?? null,
  ]);
  items.push({ kind: 'table', caption: 'splits the data audit read', columns: ['split', 'file', 'rows'], rows: splits });
  items.push({ kind: 'facts', facts: defined([factAt(a, '/summary/error', 'audit errors'), factAt(a, '/summary/warn', 'audit warnings'), factAt(a, '/summary/info', 'audit notes'), factAt(a, '/options/target', 'target')]) });
  return items;
}

function sliceTables(e: EvidenceFile): CardItem[] {
  return arr(e, '/scores/slices').map((rep, i) => {
    const r = rep as { column: string; metric: string; slices: { metrics: { name: string }[] | null }[] };
    const rows = r.slices.map((sl, j): Row => {
      const k = sl.metrics?.findIndex((m) => m.name === r.metric) ?? -1;
      const at = (f: string) => (k >= 0 ? factAt(e, pointerOf('scores', 'slices', i, 'slices', j, 'metrics', k, f), `${r.metric} ${f}`) ?? null : null);
      return [factAt(e, pointerOf('scores', 'slices', i, 'slices', j, 'value'), r.column) ?? null, factAt(e, pointerOf('scores', 'slices', i, 'slices', j, 'count'), 'rows') ?? null, at('estimate'), at('low'), at('high')];
    });
    return { kind: 'table', caption: `${r.metric} by ${r.column} (95% bootstrap intervals; small slices get none)`, columns: [r.column, 'rows', r.metric, 'CI low', 'CI high'], rows };
  });
}

function fairnessTables(e: EvidenceFile): CardItem[] {
  return arr(e, '/scores/fairness').map((fr, i) => {
    const col = (fr as { column: string }).column;
    const at = (f: string, label: string) => factAt(e, pointerOf('scores', 'fairness', i, 'report', f), label) ?? null;
    return {
      kind: 'table', caption: `fairness across ${col} (decisions at P(positive) >= 0.5)`, columns: ['measure', 'value'],
      rows: [
        ['demographic parity difference', at('demographicParityDifference', 'demographic parity difference')],
        ['demographic parity ratio', at('demographicParityRatio', 'demographic parity ratio')],
        ['equalized odds difference', at('equalizedOddsDifference', 'equalized odds difference')],
        ['equal opportunity difference', at('equalOpportunityDifference', 'equal opportunity difference')],
      ],
    };
  });
}

function quantitative(ev: ModelEvidence): CardItem[] {
  const e = fileOf(ev, 'eval');
  const items: CardItem[] = [];
  if (!e) items.push({ kind: 'missing', what: 'quantitative analyses (no evaluation report)', how: 'switchyard eval ... --out reports/eval, then registry register --eval reports/eval' });
  else {
    items.push({ kind: 'table', caption: 'overall, with 95% bootstrap intervals', columns: ['metric', 'estimate', 'CI low', 'CI high'], rows: metricRows(e, false) });
    const perClass = metricRows(e, true);
    if (perClass.length) items.push({ kind: 'table', caption: 'per class (one-vs-rest), with 95% bootstrap intervals', columns: ['metric', 'estimate', 'CI low', 'CI high'], rows: perClass });
    items.push(...sliceTables(e), ...fairnessTables(e));
    const cal = defined([factAt(e, '/scores/calibration/before/ece', 'ECE (as trained)'), factAt(e, '/scores/calibration/after/ece', 'ECE (temperature-scaled)'), factAt(e, '/scores/calibration/temperature', 'temperature')]);
    if (cal.length) items.push({ kind: 'facts', facts: cal });
    const corr = arr(e, '/robustness/corruptions').map((_, i): Row => {
      const at = (f: string) => factAt(e, pointerOf('robustness', 'corruptions', i, f), f) ?? null;
      return [at('kind'), at('severity'), at('metric'), at('value'), at('delta')];
    });
    if (corr.length) items.push({ kind: 'table', caption: 'under input corruptions (seeded)', columns: ['corruption', 'severity', 'metric', 'value', 'change'], rows: corr });
    const ood = (['msp', 'energy', 'mahalanobis'] as const).map((k): Row => [k, factAt(e, `/ood/scores/${k}/auroc`, `${k} AUROC`) ?? null, factAt(e, `/ood/scores/${k}/fpr95`, `${k} FPR at 95% TPR`) ?? null]).filter((r) => r[1] !== null);
    if (ood.length) items.push({ kind: 'table', caption: 'out-of-distribution detection', columns: ['score', 'AUROC', 'FPR at 95% TPR'], rows: ood });
    if (!arr(e, '/robustness/adversarial').length) items.push({ kind: 'missing', what: 'adversarial robustness', how: 'switchyard eval --adversarial' });
  }
  const c = fileOf(ev, 'compress');
  if (c) items.push({ kind: 'facts', facts: defined([factAt(c, '/bytesBefore', 'float32 model bytes'), factAt(c, '/bytesAfter', 'int8 model bytes'), factAt(c, '/check/agreement', 'int8 vs float32 label agreement'), factAt(c, '/check/accuracy/float32', 'float32 accuracy (compress check)'), factAt(c, '/check/accuracy/quantized', 'int8 accuracy (compress check)')]) });
  else items.push({ kind: 'missing', what: 'compression check', how: 'switchyard compress --report compress.json, then registry register --compress compress.json' });
  const d = fileOf(ev, 'drift');
  if (d) items.push({ kind: 'facts', facts: defined([factAt(d, '/window', 'drift window'), factAt(d, '/analysis/drift/share', 'share of drifted columns'), factAt(d, '/analysis/live/accuracy', 'live accuracy')]) });
  return items;
}

function ethics(ev: ModelEvidence, a: DatasheetAnswers): CardItem[] {
  const au = fileOf(ev, 'audit');
  const bias = arr(au, '/findings').map((f, i) => ((f as { check?: string }).check?.startsWith('bias.') ? factAt(au, pointerOf('findings', i, 'message'), `audit ${(f as { check: string }).check}`) : undefined));
  const items = answers(a, 'ethics');
  const found = defined(bias);
  if (found.length) items.push({ kind: 'facts', facts: found });
  return items;
}

function caveats(ev: ModelEvidence, a: DatasheetAnswers): CardItem[] {
  const e = fileOf(ev, 'eval');
  const au = fileOf(ev, 'audit');
  const notes = arr(e, '/notes').map((_, i) => factAt(e, pointerOf('notes', i), 'evaluation note'));
  const problems = arr(au, '/findings').map((f, i) => ((f as { severity?: string }).severity === 'info' ? undefined : factAt(au, pointerOf('findings', i, 'message'), `audit ${(f as { severity: string }).severity}`)));
  const facts = defined([...notes, ...problems]);
  const items = answers(a, 'caveats');
  if (facts.length) items.push({ kind: 'facts', facts });
  const reviews = ev.files.filter((f) => f.link === 'security');
  if (reviews.length) items.push({ kind: 'facts', facts: reviews.map((f): Fact => ({ label: 'security review', value: f.path, text: f.path, source: { file: f.path, pointer: '', sha256: f.sha256 } })) });
  else items.push({ kind: 'missing', what: 'security review', how: 'link one when registering: registry register --security FILE' });
  return items;
}

/** Evidence checks at the top of the card: present or missing per kind of report and analysis. */
function cardChecks(card: Omit<ModelCard, 'checks'>, ev: ModelEvidence): CheckRow[] {
  const have = (kind: 'eval' | 'audit' | 'compress' | 'security' | 'drift') => !!fileOf(ev, kind);
  const row = (check: string, ok: boolean, yes: string, no: string, section: string): CheckRow => ({ check, status: ok ? 'pass' : 'missing', detail: ok ? yes : no, section });
  return [
    row('Evaluation report', have('eval'), 'linked', 'not linked to this version', 'quantitative'),
    row('Data audit', have('audit'), 'linked', 'not linked to this version', 'training'),
    row('Slices and fairness', !card.missing.some((m) => m.section === 'factors'), 'evaluated', card.missing.filter((m) => m.section === 'factors').map((m) => m.what).join('; '), 'factors'),
    row('Compression check', have('compress'), 'linked', 'not linked', 'quantitative'),
    row('Security review', ev.files.some((f) => f.link === 'security'), 'linked', 'not linked', 'caveats'),
    row('Human answers', card.openQuestions.length === 0, 'every question answered', `${card.openQuestions.length} questions open`, 'use'),
  ];
}

/**
 * Builds the card of a version from its evidence and a person's answers (see `MODEL_CARD_ANSWERS`).
 *
 * @param ev from `collectEvidence`
 * @param a the parsed answers YAML (default: none)
 * @param created the card's date
 * @example
 * const card = buildModelCard(await collectEvidence(reg, 'penguins@production'), answers);
 */
export function buildModelCard(ev: ModelEvidence, a: DatasheetAnswers = { answers: {} }, created = new Date().toISOString()): ModelCard {
  const sections: CardSection[] = [
    { id: 'details', title: 'Model details', items: [...details(ev), ...answers(a, 'details')] },
    { id: 'use', title: 'Intended use', items: answers(a, 'use') },
    { id: 'factors', title: 'Factors', items: [...factors(ev), ...answers(a, 'factors')] },
    { id: 'metrics', title: 'Metrics', items: [...metrics(ev), ...answers(a, 'metrics')] },
    { id: 'evaluation', title: 'Evaluation data', items: [...evaluationData(ev), answers(a, 'data')[0]] },
    { id: 'training', title: 'Training data', items: [...trainingData(ev), answers(a, 'data')[1]] },
    { id: 'quantitative', title: 'Quantitative analyses', items: quantitative(ev) },
    { id: 'ethics', title: 'Ethical considerations', items: ethics(ev, a) },
    { id: 'caveats', title: 'Caveats and recommendations', items: caveats(ev, a) },
  ];
  const missing = sections.flatMap((s) => s.items.filter((i) => i.kind === 'missing').map((i) => ({ section: s.id, what: i.what, how: i.how })));
  const openQuestions = MODEL_CARD_SECTIONS.filter((s) => s.id !== 'governance').flatMap((s) => s.questions.filter((q) => !a.answers[s.id]?.[q.key]).map((q) => `${s.id}.${q.key}`));
  const v = ev.version;
  const card: Omit<ModelCard, 'checks'> = {
    format: 'switchyard.model-card', version: 1, created,
    model: { name: v.name, version: v.version, ref: ev.ref, registry: ev.registry, aliases: ev.aliases },
    sections,
    evidence: ev.files.map((f) => ({ link: f.link, path: f.path, sha256: f.sha256, kind: f.kind })),
    missing, openQuestions,
  };
  return { ...card, checks: cardChecks(card, ev) };
}
