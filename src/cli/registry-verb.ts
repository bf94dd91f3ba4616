import { isPostgresUrl } from '../registry/db.ts';
import { checkOutputs } from '../util/paths.ts';
import { openRegistry, type ModelVersion, type Registry } from '../registry/registry.ts';
import { parseVersion } from '../registry/names.ts';
import { parseWindow } from '../monitor/store.ts';
import { SwitchyardError } from '../util/errors.ts';
import { COMMON_FLAGS, formatHelp, parseArgs, unknownName, type ArgSpec } from './args.ts';
import { emitJson } from './output.ts';

const BASE = {
  ...COMMON_FLAGS,
  registry: { type: 'string', help: 'registry directory or postgres:// URL (default: $SWITCHYARD_REGISTRY or ./registry)' },
} as const satisfies ArgSpec;
const WHO = {
  by: { type: 'string', help: 'who makes the change (default: $USER)' },
  reason: { type: 'string', help: 'why, recorded in the history' },
} as const satisfies ArgSpec;

/** Reports stored with a version (`reports/<flag>/…`), read back by `switchyard card` and `governance`. */
const REPORT_FLAGS = {
  audit: { type: 'string', help: 'audit report (file or directory) stored with the version' },
  eval: { type: 'string', help: 'evaluation report (file or directory) stored with the version' },
  compress: { type: 'string', help: 'compression check (compress --report FILE) stored with the version' },
  security: { type: 'string', help: 'security review (file or directory, any format) stored with the version' },
  drift: { type: 'string', help: 'drift report (monitor report --out DIR) of an earlier version, stored as evidence' },
} as const satisfies ArgSpec;
const REPORT_LINKS = Object.keys(REPORT_FLAGS) as (keyof typeof REPORT_FLAGS)[];

const SPECS = {
  register: { ...BASE, ...WHO, name: { type: 'string', required: true, help: 'model name' }, from: { type: 'string', required: true, help: 'run directory or .onnx file' }, ...REPORT_FLAGS },
  alias: { ...BASE, ...WHO },
  rollback: { ...BASE, ...WHO },
  list: BASE,
  show: BASE,
  history: BASE,
  archive: { ...BASE, ...WHO },
  materialize: BASE,
  gc: { ...BASE, 'min-age': { type: 'string', default: '1h', help: 'spare unreferenced blobs and temp files written more recently than this (e.g. 30m, 1h, 0)' }, 'dry-run': { type: 'boolean', help: 'list what would be deleted, delete nothing' } },
} as const satisfies Record<string, ArgSpec>;

const USAGE: Record<keyof typeof SPECS, [string, string]> = {
  register: ['registry register --name NAME --from PATH', 'Register a run directory or an ONNX file as a new immutable version of NAME.'],
  alias: ['registry alias NAME ALIAS VERSION', 'Point ALIAS (production, staging, canary, any name) at VERSION of NAME (promote).'],
  rollback: ['registry rollback NAME ALIAS', 'Move ALIAS back to the version it pointed at before its last move.'],
  list: ['registry list [NAME]', 'List the versions of every model, or of NAME.'],
  show: ['registry show NAME@REF', 'Show one version (REF: a version number, an alias or latest) with lineage and artefacts.'],
  history: ['registry history NAME', 'Who registered, promoted, rolled back or archived what, when and why.'],
  archive: ['registry archive NAME VERSION', 'Archive a version: it stays readable but can no longer be aliased.'],
  materialize: ['registry materialize NAME@REF', 'Write the artefacts of a version to the local cache, verifying every SHA-256; prints the directory.'],
  gc: ['registry gc [--min-age 1h] [--dry-run]', 'Delete stored artefact bytes that no version refers to, and temp files and cache directories left by an interrupted register or materialize.'],
};

/** `--min-age` as ms: `0`, or a duration such as `30m` or `1h`. */
function minAgeMs(text: string): number {
  if (text.trim() === '0') return 0;
  let w: ReturnType<typeof parseWindow> | null = null;
  try {
    if (!/^\s*\d+\s*$/.test(text)) w = parseWindow(text); // a bare number would be a count, not a duration
  } catch {
    w = null;
  }
  if (!w || w.kind !== 'time') throw new SwitchyardError('E_USAGE', `--min-age '${text}' is not a duration`, 'e.g. --min-age 30m, --min-age 1h, --min-age 0');
  return w.ms;
}

function registryHelp(): string {
  const lines = ['usage: switchyard registry <command> [options]   (switchyard registry <command> --help)', '', 'commands:'];
  for (const [, [u, s]] of Object.entries(USAGE)) lines.push(`  ${u.padEnd(44)} ${s}`);
  lines.push('', 'every command takes --registry DIR_OR_POSTGRES_URL and --json');
  return lines.join('\n') + '\n';
}

function positionals(got: string[], names: string[], cmd: string): string[] {
  if (got.length !== names.length) {
    throw new SwitchyardError('E_USAGE', `'switchyard registry ${cmd}' takes ${names.join(' ')} (got ${got.length ? got.map((g) => `'${g}'`).join(' ') : 'nothing'})`, `usage: switchyard ${USAGE[cmd as keyof typeof SPECS][0]}`);
  }
  return got;
}

function versionLine(v: ModelVersion, aliases: Record<string, number>): string {
  const names = Object.entries(aliases).filter(([, n]) => n === v.version).map(([a]) => a);
  return `${v.name}@${v.version}  ${v.kind.padEnd(7)} ${v.status.padEnd(8)} ${v.createdAt}  ${v.createdBy}${names.length ? `  [${names.join(', ')}]` : ''}${v.reason ? `  — ${v.reason}` : ''}`;
}

async function withRegistry<T>(location: string | undefined, fn: (r: Registry) => Promise<T>): Promise<T> {
  const reg = await openRegistry(location ?? process.env.SWITCHYARD_REGISTRY ?? 'registry');
  try {
    return await fn(reg);
  } finally {
    await reg.close();
  }
}

/**
 * `switchyard registry <command>`: register, alias, rollback, list, show, history, archive, materialize, gc.
 *
 * @example
 * await registryVerb(['alias', 'penguins', 'production', '3', '--registry', './registry', '--json']);
 */
export async function registryVerb(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') return void process.stdout.write(registryHelp()), cmd ? 0 : 2;
  if (!Object.hasOwn(SPECS, cmd)) throw unknownName('registry command', cmd, Object.keys(SPECS));
  const c = cmd as keyof typeof SPECS;
  const spec: ArgSpec = SPECS[c];
  const a = parseArgs(rest, spec, `registry ${c}`) as Record<string, unknown> & { _: string[]; help: boolean; json: boolean };
  if (a.help) return void process.stdout.write(formatHelp(`registry ${c}`, `${USAGE[c][1]}\n\n  switchyard ${USAGE[c][0]}`, spec)), 0;
  const who = { by: a.by as string | undefined, reason: a.reason as string | undefined };
  const out = (json: Record<string, unknown>, text: string): number => {
    if (a.json) emitJson({ ok: true, ...json });
    else process.stdout.write(text.endsWith('\n') ? text : text + '\n');
    return 0;
  };
  if (c === 'register') {
    const store = (a.registry as string | undefined) ?? process.env.SWITCHYARD_REGISTRY ?? 'registry';
    const inputs = (['from', ...REPORT_LINKS] as const).map((k) => ({ flag: `--${k}`, path: a[k] as string | undefined }));
    checkOutputs([{ flag: '--registry', path: isPostgresUrl(store) ? undefined : store, kind: 'dir' }], inputs);
  }
  return withRegistry(a.registry as string | undefined, async (reg) => {
    switch (c) {
      case 'register': {
        positionals(a._, [], c);
        const links: Record<string, string> = {};
        for (const k of REPORT_LINKS) if (a[k]) links[k] = a[k] as string;
        const v = await reg.register({ name: a.name as string, from: a.from as string, links, ...who });
        return out({ version: v }, `registered ${v.name}@${v.version} (${v.kind}, ${v.artefacts.length} artefacts) in ${reg.location}`);
      }
      case 'alias': {
        const [name, alias, ver] = positionals(a._, ['NAME', 'ALIAS', 'VERSION'], c);
        const version = parseVersion(ver, 'VERSION');
        await reg.setAlias(name, alias, version, who);
        return out({ name, alias, version }, `${name}@${alias} -> ${version}`);
      }
      case 'rollback': {
        const [name, alias] = positionals(a._, ['NAME', 'ALIAS'], c);
        const r = await reg.rollback(name, alias, who);
        return out({ name, alias, ...r }, `${name}@${alias}: rolled back ${r.from} -> ${r.to}`);
      }
      case 'list': {
        if (a._.length > 1) positionals(a._, ['[NAME]'], c);
        const versions = await reg.list(a._[0]);
        const aliases: Record<string, Record<string, number>> = {};
        for (const n of new Set(versions.map((v) => v.name))) aliases[n] = await reg.aliases(n);
        const text = versions.length ? versions.map((v) => versionLine(v, aliases[v.name])).join('\n') : `no models in ${reg.location}`;
        return out({ versions, aliases }, text);
      }
      case 'show': {
        const [ref] = positionals(a._, ['NAME@REF'], c);
        const v = await reg.resolve(ref);
        const aliases = await reg.aliases(v.name);
        const lines = [versionLine(v, aliases), ...v.artefacts.map((x) => `  ${x.path.padEnd(28)} ${String(x.bytes).padStart(10)} B  sha256 ${x.sha256}`)];
        for (const d of (v.lineage.data as Record<string, unknown>[] | undefined) ?? []) lines.push(`  data ${d.path}: ${d.missing ? `missing (${d.error})` : `sha256 ${d.sha256}`}`);
        const code = v.lineage.code as Record<string, unknown> | undefined;
        if (code) lines.push(`  code ${code.package} ${code.version}${code.commit ? ` @ ${code.commit}` : ''}`);
        return out({ version: v, aliases }, lines.join('\n'));
      }
      case 'history': {
        const [name] = positionals(a._, ['NAME'], c);
        const h = await reg.history(name);
        const text = h.map((e) => `${e.at}  ${e.by.padEnd(10)} ${e.action.padEnd(8)} ${e.alias ? `${e.alias} ${e.from ?? '-'} -> ${e.to}` : `v${e.version}`}${e.reason ? `  — ${e.reason}` : ''}`).join('\n');
        return out({ name, history: h }, text || `${name}: no history`);
      }
      case 'archive': {
        const [name, ver] = positionals(a._, ['NAME', 'VERSION'], c);
        const version = parseVersion(ver, 'VERSION');
        await reg.archive(name, version, who);
        return out({ name, version }, `archived ${name}@${version}`);
      }
      case 'materialize': {
        const [ref] = positionals(a._, ['NAME@REF'], c);
        const v = await reg.resolve(ref);
        const dir = await reg.materialize(v);
        return out({ name: v.name, version: v.version, dir }, dir);
      }
      case 'gc': {
        positionals(a._, [], c);
        const dryRun = Boolean(a['dry-run']);
        const r = await reg.gc({ minAgeMs: minAgeMs(a['min-age'] as string), dryRun });
        const verb = dryRun ? 'would delete' : 'deleted';
        const text = [
          `${verb} ${r.removed.length} unreferenced blob(s) and ${r.temporary.length} leftover temp file(s), ${r.freedBytes} B; ` +
            `kept ${r.referenced} referenced and ${r.young} too recent (of ${r.scanned} blobs)`,
          ...r.removed.map((b) => `  ${b.sha256}  ${b.bytes} B`),
          ...r.temporary.map((t) => `  ${t.path}  ${t.bytes} B`),
        ];
        return out({ dryRun, ...r }, text.join('\n'));
      }
    }
  });
}
