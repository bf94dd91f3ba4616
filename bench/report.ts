/**
 * Where benchmark numbers go: one JSON file per benchmark in `bench/results/`, and one section per
 * benchmark in `BENCHMARKS.md` at the repo root. Each section lives between its own markers
 * (`<!-- bench:NAME:start -->` ... `<!-- bench:NAME:end -->`), so benchmarks update their own table
 * without touching the others. Files are written to a temp name and renamed, never half-written.
 */
import { cpus, platform, release, arch, totalmem } from 'node:os';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

/** Repo root (the folder above `bench/`). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Folder holding `<name>.json` results. */
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
/** The Markdown file holding every benchmark's table. */
export const BENCHMARKS_MD = join(REPO_ROOT, 'BENCHMARKS.md');

/** The machine a result was measured on. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  os: string;
  arch: string;
  memGiB: number;
  node: string;
  ort: string | null;
  date: string;
}

/** Version of the installed `onnxruntime-node` package, or null if it cannot be read. */
export function ortVersion(): string | null {
  try {
    const req = createRequire(join(REPO_ROOT, 'package.json'));
    const pkg = JSON.parse(readFileSync(req.resolve('onnxruntime-node/package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? null;
  } catch {
    return null;
  }
}

/** Describes this machine: CPU model, logical cores, OS, Node and ORT versions, current date (ISO). */
export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpu: c[0]?.model?.trim() ?? 'unknown',
    cores: c.length,
    os: `${platform()} ${release()}`,
    arch: arch(),
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    ort: ortVersion(),
    date: new Date().toISOString(),
  };
}

/** One-line summary of {@link machineInfo}, for the line under a table. */
export function machineSummary(m: MachineInfo = machineInfo()): string {
  return `${m.cpu}, ${m.cores} logical cores, ${m.os} (${m.arch}), Node ${m.node}, onnxruntime-node ${m.ort ?? 'n/a'}, ${m.date.slice(0, 10)}`;
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Writes `bench/results/<name>.json`: `{ name, machine, ...payload }` as pretty JSON.
 * @returns the path written.
 */
export function writeBenchResult(name: string, payload: object): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`writeBenchResult: bad result name '${name}' (use letters, digits, . _ -)`);
  const path = join(RESULTS_DIR, `${name}.json`);
  writeAtomic(path, JSON.stringify({ name, machine: machineInfo(), ...payload }, null, 2) + '\n');
  return path;
}

/** One benchmark's section of BENCHMARKS.md. */
export interface BenchSection {
  /** Heading text (rendered as `## title`). */
  title: string;
  /** Paragraph under the heading: what was measured and how. */
  intro: string;
  /** Table header cells. */
  columns: string[];
  /** Table rows; numbers are formatted with {@link formatNumber}. */
  rows: (string | number)[][];
  /** Bullet points under the table. */
  notes?: string[];
  /** Marker key; defaults to a slug of `title`. */
  name?: string;
  /** "Measured on" line; `updateBenchmarksMd` fills it from {@link machineSummary} when absent. */
  measuredOn?: string;
}

/** Formats a number for a table: integers as-is, otherwise 3 significant figures (at least 0 decimals past 100). */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

function cell(v: string | number): string {
  const s = typeof v === 'number' ? formatNumber(v) : v;
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Marker key of a section: its `name`, or its title lower-cased with non-alphanumerics as `-`. */
export function sectionName(s: Pick<BenchSection, 'title' | 'name'>): string {
  return s.name ?? s.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

function renderSection(s: BenchSection): string {
  const n = s.columns.length;
  for (const [i, r] of s.rows.entries()) {
    if (r.length !== n) throw new Error(`renderBenchmarksMd: '${s.title}' row ${i} has ${r.length} cells, expected ${n}`);
  }
  const lines: string[] = [`## ${s.title}`, '', s.intro.trim(), ''];
  lines.push(`| ${s.columns.map(cell).join(' | ')} |`);
  lines.push(`|${s.columns.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
  for (const r of s.rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  if (s.notes && s.notes.length > 0) {
    lines.push('');
    for (const note of s.notes) lines.push(`- ${note}`);
  }
  if (s.measuredOn) lines.push('', `_Measured on ${s.measuredOn}._`);
  return lines.join('\n');
}

/** Renders sections as Markdown, each wrapped in its `<!-- bench:NAME:start/end -->` markers. */
export function renderBenchmarksMd(sections: BenchSection[]): string {
  return sections
    .map((s) => {
      const name = sectionName(s);
      return `<!-- bench:${name}:start -->\n${renderSection(s)}\n<!-- bench:${name}:end -->`;
    })
    .join('\n\n');
}

const HEADER =
  '# Benchmarks\n\n' +
  'Each section is written by a script in `bench/` (run `npm run bench` or the script itself) and is\n' +
  'replaced between its own markers on the next run; raw numbers are in `bench/results/*.json`.\n';

/**
 * Replaces the section's marked block in BENCHMARKS.md (creating the file if needed), or appends it at
 * the end when the file has no block of that name yet. Other sections are left byte-for-byte unchanged.
 * @returns the path written.
 */
export function updateBenchmarksMd(section: BenchSection, path: string = BENCHMARKS_MD): string {
  const s: BenchSection = { ...section, measuredOn: section.measuredOn ?? machineSummary() };
  const name = sectionName(s);
  const block = renderBenchmarksMd([s]);
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  let text = existsSync(path) ? readFileSync(path, 'utf8') : HEADER;
  const i = text.indexOf(start);
  const j = i >= 0 ? text.indexOf(end, i) : -1;
  if (i >= 0 && j >= 0) {
    text = text.slice(0, i) + block + text.slice(j + end.length);
  } else if (i >= 0 || text.indexOf(end) >= 0) {
    throw new Error(`updateBenchmarksMd: ${path} has an unmatched marker for '${name}'; fix the file by hand`);
  } else {
    text = text.replace(/\s*$/, '') + '\n\n' + block + '\n';
  }
  writeAtomic(path, text);
  return path;
}
