/**
 * Generates docs/api.md: every function, class, constant, interface and type of the public API (`src/index.ts`
 * and its namespaces `nn`, `optim`, `data`, `stats`) with its signature (parameters with types, defaults and
 * TSDoc, the return type), the fields of the option types it takes, and its TSDoc examples, read with the
 * TypeScript compiler (scripts/api-model.ts). `--check` exits 1 when docs/api.md is stale or an exported function
 * or class anywhere under src/ (the CLI aside: `--help` documents it) has no TSDoc.
 *
 *   node bin/run-ts.js scripts/api-docs.ts [--check]
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readApi, signatureText, undocumentedExports } from './api-model.ts';
import type { ApiEntry, ApiField, ApiModule, ApiSignature } from './api-model.ts';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');
const OUT = join(ROOT, 'docs', 'api.md');

function files(dir: string): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  const found = entries.flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? files(path) : e.name.endsWith('.ts') ? [path] : [];
  });
  return found.sort();
}

/** A Markdown table cell: pipes escaped, on one line. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const code = (s: string): string => (s ? `\`${cell(s).replace(/`/g, "'")}\`` : '');
const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9-]/g, '-');
/** An entry's anchor; types get their own suffix, since `calibrationSummary` and `CalibrationSummary` both exist. */
const anchor = (module: string, e: ApiEntry): string =>
  slug(`${module}-${e.name}${e.kind === 'interface' || e.kind === 'type' ? '-type' : ''}`);
/** One section per source file of each module. */
const fileAnchor = (module: string, file: string): string =>
  slug(`file-${module}-${file.replace(/^src\//, '').replace(/\.ts$/, '')}`);
const modulePrefix = (module: string): string => (module === 'switchyard' ? '' : `${module}.`);

/** Type names documented here, by module: a type in a table links to its entry (its own module's first). */
type Linker = (type: string) => string;

function linker(modules: readonly ApiModule[], current: string): Linker {
  const targets = new Map<string, string>();
  for (const m of [...modules].sort((a, b) => Number(b.name === current) - Number(a.name === current))) {
    for (const e of m.entries) {
      if (!targets.has(e.name) && /^[A-Z]/.test(e.name)) targets.set(e.name, `#${anchor(m.name, e)}`);
    }
  }
  return (type) => {
    const parts = type.split(/\b([A-Z][\w$]*)\b/);
    let out = '';
    let text = '';
    parts.forEach((p, i) => {
      const target = i % 2 === 1 ? targets.get(p) : undefined;
      if (!target) return void (text += p);
      out += code(text) + `[\`${p}\`](${target})`;
      text = '';
    });
    return out + code(text);
  };
}

const need = (f: ApiField): string => (f.optional ? 'optional' : 'required');

function fieldTable(fields: readonly ApiField[], link: Linker): string[] {
  const rows = fields.map((f) => `| \`${f.name}\` | ${link(f.type)} | ${need(f)} | ${cell(f.doc)} |`);
  return ['| field | type | | description |', '| --- | --- | --- | --- |', ...rows, ''];
}

function signatureLines(name: string, s: ApiSignature, link: Linker, isConstructor: boolean): string[] {
  const lines = ['```ts', signatureText(name, s), '```', ''];
  if (s.params.length) {
    lines.push('| parameter | type | default | description |', '| --- | --- | --- | --- |');
    for (const p of s.params) {
      const given = p.defaultText ? code(p.defaultText) : p.optional ? 'optional' : '';
      lines.push(`| \`${p.name}\` | ${link(p.type)} | ${given} | ${cell(p.doc)} |`);
    }
    lines.push('');
  }
  if (!isConstructor) lines.push(`Returns ${link(s.returns)}${s.returnsDoc ? `: ${s.returnsDoc}` : ''}.`, '');
  for (const p of s.params) if (p.fields) lines.push(`Fields of \`${p.name}\`:`, '', ...fieldTable(p.fields, link));
  return lines;
}

function entryLines(module: string, e: ApiEntry, link: Linker): string[] {
  const qualified = `${modulePrefix(module)}${e.name}`;
  const lines = [`<a id="${anchor(module, e)}"></a>`, `### \`${qualified}\` (${e.kind})`, ''];
  if (e.deprecated) lines.push(`**Deprecated:** ${e.deprecated}`, '');
  if (e.doc) lines.push(e.doc, '');
  if (e.kind === 'const' && e.typeText) lines.push('```ts', `const ${e.name}: ${e.typeText}`, '```', '');
  if (e.kind === 'type' && e.typeText) lines.push('```ts', `type ${e.name} = ${e.typeText}`, '```', '');
  if (e.kind === 'class' && e.typeText) lines.push(`${code(`class ${e.name}`)} ${link(e.typeText)}`, '');
  const called = e.kind === 'class' ? `new ${e.name}` : e.name;
  for (const s of e.signatures) lines.push(...signatureLines(called, s, link, e.kind === 'class'));
  if (e.fields.length) lines.push(...fieldTable(e.fields, link));
  if (e.members.length) {
    lines.push('| member | description |', '| --- | --- |');
    for (const m of e.members) lines.push(`| ${code(`${m.isStatic ? 'static ' : ''}${m.text}`)} | ${cell(m.doc)} |`);
    lines.push('');
  }
  for (const ex of e.examples) lines.push('Example:', '', '```ts', ex.trim(), '```', '');
  return lines;
}

function byFile(m: ApiModule): Map<string, ApiEntry[]> {
  const groups = new Map<string, ApiEntry[]>();
  for (const e of m.entries) groups.set(e.file, [...(groups.get(e.file) ?? []), e]);
  return groups;
}

/** docs/api.md's text (of `modules`, by default read now) and the exported functions and classes without TSDoc. */
function render(modules: ApiModule[] = readApi()): { md: string; missing: string[] } {
  const lines = [
    '# Switchyard API', '',
    'Generated by `node bin/run-ts.js scripts/api-docs.ts` from the TypeScript sources and their TSDoc; do not edit by',
    'hand. Everything here is exported by the package root (`import { trainTabular, nn } from \'switchyard\'`), except',
    'serving, which is the sub-path `switchyard/serve` (`import { startServer } from \'switchyard/serve\'`); the',
    'namespaces `nn`, `optim`, `data` and `stats` are reached through their name (`nn.Linear`) or their own sub-path',
    '(`switchyard/nn`). One section per source file. A type name that links is documented here: a parameter of',
    'such a type lists its fields there; other object types have their fields listed under the function.', '',
    '## Contents', '',
  ];
  for (const m of modules) {
    const title = m.name === 'switchyard' ? '`switchyard` (the package root)' : `\`${m.name}\``;
    lines.push(`- **${title}**${m.doc ? ` — ${m.doc}` : ''}`);
    for (const [file, entries] of byFile(m)) {
      const names = entries.map((e) => `[${e.name}](#${anchor(m.name, e)})`).join(', ');
      lines.push(`  - [${file}](#${fileAnchor(m.name, file)}): ${names}`);
    }
  }
  lines.push('');
  for (const m of modules) {
    const link = linker(modules, m.name);
    for (const [file, entries] of byFile(m)) {
      const heading = `## ${m.name === 'switchyard' ? '' : `${m.name}: `}${file}`;
      lines.push(`<a id="${fileAnchor(m.name, file)}"></a>`, heading, '');
      for (const e of entries) lines.push(...entryLines(m.name, e, link));
    }
  }
  const folders = readdirSync(SRC, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'cli');
  const missing = undocumentedExports(folders.flatMap((f) => files(join(SRC, f.name))));
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
