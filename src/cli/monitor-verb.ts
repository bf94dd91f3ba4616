import { isPostgresUrl } from '../registry/db.ts';
import { checkOutputs } from '../util/paths.ts';
import { openIncidentLog, type Incident, type IncidentStatus } from '../monitor/incidents.ts';
import { type DriftReport, driftReport, writeDriftReport } from '../monitor/report.ts';
import type { TrafficSlice } from '../monitor/traffic.ts';
import { parseWindow } from '../monitor/store.ts';
import { openRegistry } from '../registry/registry.ts';
import { SwitchyardError } from '../util/errors.ts';
import { COMMON_FLAGS, formatHelp, parseArgs, unknownName, type ArgSpec } from './args.ts';
import { emitJson } from './output.ts';

const BASE = {
  ...COMMON_FLAGS,
  registry: { type: 'string', help: 'registry directory or postgres:// URL (default: $SWITCHYARD_REGISTRY or ./registry)' },
} as const satisfies ArgSpec;

const REPORT = {
  ...BASE,
  model: { type: 'string', required: true, help: 'NAME, NAME@ALIAS or NAME@VERSION' },
  reference: { type: 'string', help: 'reference (training) data (default: the data named in the version lineage)' },
  window: { type: 'string', default: '1000', help: "logged predictions to judge: a count ('1000') or a duration ('1h', '7d')" },
  role: { type: 'string', help: 'only primary or canary traffic' },
  out: { type: 'string', default: 'reports/drift', valueName: 'dir', help: 'report directory to write drift.json and drift.html into' },
  'fail-on-drift': { type: 'boolean', help: 'exit 3 when dataset drift is found' },
} as const satisfies ArgSpec;

const INCIDENTS = {
  ...BASE,
  model: { type: 'string', help: 'only this model' },
  status: { type: 'string', help: 'open | acknowledged | resolved | unresolved' },
  by: { type: 'string', help: 'who acknowledges or resolves (default: $USER)' },
  note: { type: 'string', help: 'a note for the timeline' },
} as const satisfies ArgSpec;

const HELP = `usage: switchyard monitor <command> [options]

commands:
  report --model NAME[@ALIAS] [--reference FILE] [--window 1000|1h] --out DIR   drift.json + drift.html of logged traffic
  incidents [list]                       incidents, newest first (--status, --model)
  incidents show ID                      one incident with its timeline
  incidents ack ID [--by WHO] [--note]   acknowledge an open incident
  incidents resolve ID [--by WHO] [--note]

every command takes --registry DIR_OR_POSTGRES_URL and --json
`;

const num = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : String(+v.toPrecision(3)));
const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${+(v * 100).toPrecision(3)}%`);

/** Per alias: requests, rates, codes, sample rate and p99, then the same per slice of the window. */
function trafficText(t: NonNullable<DriftReport['traffic']>): string {
  const out = ['traffic by alias (error rate: 5xx answers; rejected: 4xx, the client\'s mistakes):'];
  const rates = (s: TrafficSlice) => (s.traffic ? `errors ${pct(s.traffic.errorRate)}  rejected ${pct(s.traffic.rejectedRate)}` : 'errors not recorded (log format 1)');
  for (const a of t.aliases) {
    const o = a.overall;
    const codes = Object.entries(o.traffic?.codes ?? {}).map(([c, n]) => `${c} ${n}`).join(', ');
    const sample = o.traffic?.sampleRates.length ? `  sample rate ${o.traffic.sampleRates.join(', ')}` : '';
    out.push(`  ${a.alias} → v${a.version}: ${o.requests} logged requests, ${num(o.perMinute)}/min  ${rates(o)}${codes ? ` (${codes})` : ''}  p99 ${num(o.p99)} ms${sample}`);
    for (const s of a.slices) out.push(`    to ${s.end.slice(11, 19)}  ${num(s.perMinute).padStart(6)}/min  ${rates(s)}  p99 ${num(s.p99)} ms`);
  }
  if (t.unrouted.logged) out.push(`  refused before a version was picked: ${t.unrouted.logged} (${Object.entries(t.unrouted.codes).map(([c, n]) => `${c} ${n}`).join(', ')})`);
  return `${out.join('\n')}\n`;
}

function incidentLine(i: Incident): string {
  return `#${i.id}  ${i.status.padEnd(12)} ${i.openedAt}  ${i.kind.padEnd(8)} ${i.model}  v${i.versions.join(',v')}  ${i.title}`;
}

/**
 * `switchyard monitor report|incidents`.
 *
 * @example
 * await monitorVerb(['report', '--registry', 'registry', '--model', 'churn@production', '--window', '1h', '--out', 'reports/drift']);
 */
export async function monitorVerb(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') return void process.stdout.write(HELP), cmd ? 0 : 2;
  if (cmd === 'report') {
    const a = parseArgs(rest, REPORT, 'monitor report');
    if (a.help) return void process.stdout.write(formatHelp('monitor report', 'Drift of logged traffic against the training reference (drift.json + drift.html).', REPORT)), 0;
    const window = parseWindow(a.window);
    const location = a.registry ?? process.env.SWITCHYARD_REGISTRY ?? 'registry';
    checkOutputs([{ flag: '--out', path: a.out, kind: 'dir' }], [{ flag: '--reference', path: a.reference }, { flag: '--registry', path: isPostgresUrl(location) ? undefined : location }]);
    const reg = await openRegistry(location);
    try {
      const r = await driftReport(reg, a.model, { reference: a.reference, window, role: a.role });
      const files = await writeDriftReport(r, a.out);
      const d = r.analysis.drift;
      if (a.json) emitJson({ ok: true, files, model: r.model, window: r.window, rows: r.analysis.rows, dataset: d.dataset, share: d.share, drifted: d.features.filter((f) => f.drifted).map((f) => f.column), prediction: d.prediction?.drifted ?? null, accuracy: r.analysis.live.accuracy, ece: r.analysis.live.ece, traffic: r.traffic });
      else {
        process.stdout.write(`${r.model.name}@${r.model.version}: ${r.analysis.rows} predictions (${r.window}); ${d.drifted}/${d.columns} columns drifted${d.dataset ? ' — DATASET DRIFT' : ''}\n`);
        for (const f of d.features) process.stdout.write(`  ${f.drifted ? '!' : ' '} ${f.column.padEnd(20)} ${f.type.padEnd(11)} ${f.test.padEnd(14)} ${f.statistic.toPrecision(3)}${f.pValue !== undefined ? `  p=${f.pValue.toPrecision(2)}` : ''}${f.psi !== undefined ? `  psi=${f.psi.toPrecision(3)}` : ''}\n`);
        if (r.traffic) process.stdout.write(trafficText(r.traffic));
        process.stdout.write(`wrote ${files.json} and ${files.html}\n`);
      }
      return a['fail-on-drift'] && d.dataset ? 3 : 0;
    } finally {
      await reg.close();
    }
  }
  if (cmd === 'incidents') {
    const sub = rest[0] && !rest[0].startsWith('-') ? rest[0] : 'list';
    const a = parseArgs(sub === rest[0] ? rest.slice(1) : rest, INCIDENTS, `monitor incidents ${sub}`);
    if (a.help) return void process.stdout.write(HELP), 0;
    const reg = await openRegistry(a.registry ?? process.env.SWITCHYARD_REGISTRY ?? 'registry');
    try {
      const log = await openIncidentLog(reg.db);
      if (sub === 'list') {
        if (a._.length) throw new SwitchyardError('E_USAGE', `'monitor incidents list' takes no arguments (got ${a._.join(' ')})`, 'filter with --status and --model');
        const status = a.status as IncidentStatus | 'unresolved' | undefined;
        if (status && !['open', 'acknowledged', 'resolved', 'unresolved'].includes(status)) throw new SwitchyardError('E_USAGE', `--status must be open, acknowledged, resolved or unresolved, got '${status}'`, 'e.g. --status open');
        const incidents = await log.list({ status, model: a.model });
        if (a.json) emitJson({ ok: true, incidents });
        else process.stdout.write(incidents.length ? incidents.map(incidentLine).join('\n') + '\n' : 'no incidents\n');
        return 0;
      }
      if (sub !== 'show' && sub !== 'ack' && sub !== 'resolve') throw unknownName('incidents command', sub, ['list', 'show', 'ack', 'resolve']);
      if (a._.length !== 1) throw new SwitchyardError('E_USAGE', `'monitor incidents ${sub}' takes one incident ID (got ${a._.length})`, `e.g. switchyard monitor incidents ${sub} 3`);
      const id = a._[0];
      const who = { by: a.by ?? process.env.USER ?? 'unknown', note: a.note };
      const i = sub === 'show' ? await log.get(id) : sub === 'ack' ? await log.acknowledge(id, who) : await log.resolve(id, who);
      if (a.json) emitJson({ ok: true, incident: i });
      else process.stdout.write(`${incidentLine(i)}\n${i.timeline.map((e) => `  ${e.at}  ${e.action.padEnd(12)} ${e.by}${e.version ? `  v${e.version}` : ''}${e.note ? `  — ${e.note}` : ''}`).join('\n')}\n`);
      return 0;
    } finally {
      await reg.close();
    }
  }
  throw unknownName('monitor command', cmd, ['report', 'incidents']);
}
