/**
 * Generates docs/api.md from the TSDoc comments of every exported function, class, constant, interface and
 * type under src/ (the CLI excluded: it is documented by `--help`). `--check` exits 1 when docs/api.md is
 * stale or an exported function or class has no TSDoc.
 *
 *   node bin/run-ts.js scripts/api-docs.ts [--check]
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');
const OUT = join(ROOT, 'docs', 'api.md');

const FOLDERS: [string, string][] = [
  ['core', 'IR, tracing, ops and autodiff'],
  ['runtime', 'ONNX lowering, ONNX Runtime sessions, safetensors, reference interpreter'],
  ['nn', 'modules, layers, attention, Mixture-of-Experts'],
  ['optim', 'optimizers and schedules'],
  ['models', 'model families'],
  ['train', 'training steps, inference, export, workflows'],
  ['data', 'readers, schemas, encoders, tokenizers'],
  ['audit', 'data audit checks: integrity, duplicates, leakage, contamination, label issues, bias, drift'],
  ['eval', 'evaluation: metrics with intervals, calibration, slices, fairness, robustness, OOD, the regression gate'],
  ['stats', 'statistical tests and special functions'],
  ['registry', 'model registry over SQLite or PostgreSQL'],
  ['serve', 'HTTP serving, micro-batching, canary, shadow and rollback'],
  ['monitor', 'prediction logs, drift, feedback, alerts and incidents'],
  ['report', 'charts and reports'],
  ['util', 'errors, files, progress, randomness'],
];

interface Entry {
  name: string;
  kind: string;
  file: string;
  doc: string;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])).sort();
}

function cleanDoc(raw: string): string {
  return raw
    .replace(/^\/\*\*\s*/, '')
    .replace(/\s*\*\/$/, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/** Exported declarations of one file with their TSDoc (empty string when there is none). */
export function exportsOf(file: string): Entry[] {
  const text = readFileSync(file, 'utf8');
  const re = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/\s*)?^export (?:declare )?(?:abstract )?(?:async )?(function\*?|class|const|interface|type|let) ([A-Za-z_$][\w$]*)/gm;
  const out: Entry[] = [];
  for (const m of text.matchAll(re)) out.push({ name: m[3], kind: m[2].replace('*', ''), file: relative(ROOT, file), doc: m[1] ? cleanDoc(m[1].trim()) : '' });
  return out;
}

function render(): { md: string; missing: string[] } {
  const lines = ['# Switchyard API', '', 'Generated from the TSDoc of `src/` by `node bin/run-ts.js scripts/api-docs.ts`; do not edit by hand.', 'The library entry point is `src/index.ts` (`import { ... } from \'switchyard\'`).', ''];
  const missing: string[] = [];
  for (const [folder, what] of FOLDERS) {
    lines.push(`## ${folder}/ — ${what}`, '');
    for (const f of files(join(SRC, folder))) {
      const entries = exportsOf(f);
      if (!entries.length) continue;
      lines.push(`### \`${relative(ROOT, f)}\``, '');
      for (const e of entries) {
        if (!e.doc && (e.kind === 'function' || e.kind === 'class')) missing.push(`${e.file}: ${e.kind} ${e.name}`);
        const [text, ...examples] = e.doc.split(/^@example\s*$/m);
        lines.push(`#### \`${e.name}\` (${e.kind})`, '');
        if (text.trim()) lines.push(text.trim(), '');
        for (const ex of examples) lines.push('```ts', ex.trim(), '```', '');
      }
    }
  }
  return { md: lines.join('\n'), missing };
}

if (import.meta.url === pathToFileURL(resolve(process.argv[1] ?? '')).href) {
  const { md, missing } = render();
  if (process.argv.includes('--check')) {
    const stale = readFileSync(OUT, 'utf8') !== md;
    if (stale) console.error('docs/api.md is stale: run node bin/run-ts.js scripts/api-docs.ts');
    for (const m of missing) console.error(`no TSDoc: ${m}`);
    process.exit(stale || missing.length ? 1 : 0);
  }
  writeFileSync(OUT, md);
  console.log(`wrote docs/api.md; ${missing.length} exported functions/classes without TSDoc`);
  for (const m of missing) console.log('  ' + m);
}

export { render };
