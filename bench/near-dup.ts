/**
 * Near-duplicate text search benchmark (issue 4 target: 100,000 short documents in under 60 s on this machine).
 * Generates seeded short documents (20-40 pseudo-words) with planted near-copies (edited words, case and
 * spacing changes, clusters of up to four), runs `nearDuplicateClusters` with its defaults (character
 * 5-grams, 128 permutations, Jaccard 0.8), and reports documents/s, peak RSS and the recall of the planted
 * pairs whose exact Jaccard is at or above the threshold (and the precision of the reported pairs).
 * Called by bench/run.ts (`--only neardup`); runnable alone: `node bin/run-ts.js bench/near-dup.ts --quick`.
 */
import { resourceUsage } from 'node:process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exactJaccard } from '../src/audit/minhash.ts';
import { nearDuplicateClusters } from '../src/audit/near-duplicates.ts';
import { Shingler } from '../src/audit/text-normalize.ts';
import { Rng } from '../src/util/rng.ts';
import { formatNumber, updateBenchmarksMd, writeBenchResult } from './report.ts';

const SYL = ['ba', 'ce', 'di', 'fo', 'gu', 'ha', 'ke', 'li', 'mo', 'nu', 'pa', 're', 'si', 'to', 'vu', 'wa', 'xe', 'yo', 'za', 'qi'];

interface Corpus {
  docs: string[];
  /** Planted (source, copy) pairs. */
  planted: [number, number][];
}

/** `n` documents of which 5% are edited copies of another document, shuffled into place. */
export function generateCorpus(n: number, seed: number): Corpus {
  const rng = new Rng(seed);
  const word = () => SYL[rng.int(20)] + SYL[rng.int(20)] + (rng.next() < 0.5 ? SYL[rng.int(20)] : '');
  const base: string[][] = [];
  const nCopies = Math.round(n * 0.05);
  const nBase = n - nCopies;
  for (let i = 0; i < nBase; i++) base.push(Array.from({ length: 20 + rng.int(21) }, word));
  // `id` is the base document's index for originals; `src` the base document a copy was made from.
  const items: { text: string; id: number; src: number }[] = base.map((w, id) => ({ text: w.join(' '), id, src: -1 }));
  for (let c = 0; c < nCopies; c++) {
    // Families: sources are drawn from the first 2% of base documents, so a source gets one to a few copies.
    const src = rng.int(Math.max(1, Math.round(n * 0.02)));
    const w = [...base[src]];
    const edits = rng.int(3); // 0, 1 or 2 substituted words
    for (let e = 0; e < edits; e++) w[rng.int(w.length)] = word();
    let text = w.join(rng.next() < 0.3 ? '  ' : ' ');
    if (rng.next() < 0.3) text = text.toUpperCase();
    items.push({ text, id: -1, src });
  }
  rng.shuffle(items);
  const at = new Int32Array(nBase);
  items.forEach((it, i) => {
    if (it.id >= 0) at[it.id] = i;
  });
  const planted: [number, number][] = [];
  items.forEach((it, i) => {
    if (it.src >= 0) planted.push([at[it.src], i]);
  });
  return { docs: items.map((it) => it.text), planted };
}

/** Runs the benchmark at `n` documents and returns its numbers. */
export function measureNearDup(n: number, seed = 1) {
  const { docs, planted } = generateCorpus(n, seed);
  const sh = new Shingler();
  const truth = planted
    .map(([a, b]) => ({ a, b, j: exactJaccard(sh.hashes(docs[a]).slice(), sh.hashes(docs[b])) }))
    .filter((p) => p.j >= 0.8);
  const t0 = performance.now();
  const r = nearDuplicateClusters(docs);
  const seconds = (performance.now() - t0) / 1000;
  const clusterOf = new Int32Array(n).fill(-1);
  r.clusters.forEach((c, k) => c.rows.forEach((row) => (clusterOf[row] = k)));
  const found = truth.filter((p) => clusterOf[p.a] >= 0 && clusterOf[p.a] === clusterOf[p.b]).length;
  // Precision: clustered rows that belong to a planted family (a source and its copies).
  const family = new Map<number, number>();
  for (const [a, b] of planted) {
    family.set(a, a);
    family.set(b, a);
  }
  let pure = 0;
  for (const c of r.clusters) if (new Set(c.rows.map((row) => family.get(row) ?? -1 - row)).size === 1) pure++;
  return {
    documents: n,
    seconds,
    docsPerSec: n / seconds,
    plantedPairsAtThreshold: truth.length,
    recall: truth.length ? found / truth.length : 1,
    clusters: r.clusters.length,
    clusterPrecision: r.clusters.length ? pure / r.clusters.length : 1,
    candidatePairs: r.candidatePairs,
    settings: r.settings,
    peakRssMiB: resourceUsage().maxRSS / 1024,
  };
}

/** Runs the near-duplicate section and updates BENCHMARKS.md; `quick` uses 10,000 documents. */
export async function runNearDupBench(quick: boolean, log: (s: string) => void): Promise<void> {
  const n = quick ? 10_000 : 100_000;
  const m = measureNearDup(n);
  log(`near-dup ${formatNumber(n)} docs: ${m.seconds.toFixed(1)} s, ${formatNumber(m.docsPerSec)} docs/s, recall ${(100 * m.recall).toFixed(1)}% of ${m.plantedPairsAtThreshold} planted pairs, peak RSS ${m.peakRssMiB.toFixed(0)} MiB`);
  if (quick) return;
  writeBenchResult('near-dup', m);
  updateBenchmarksMd({
    title: 'Near-duplicate text search (MinHash + LSH)',
    name: 'near-dup',
    intro: `Seeded short documents (20-40 pseudo-words, ~150 characters), 5% of them planted near-copies of another document (0-2 substituted words, case and spacing changes, families of up to four). \`nearDuplicateClusters\` with its defaults: character 5-grams, ${m.settings.permutations} MinHash functions, Jaccard threshold ${m.settings.threshold}, ${m.settings.bands} bands x ${m.settings.rows} rows; every candidate verified by exact Jaccard. One thread. Recall counts planted pairs whose exact Jaccard is at or above the threshold.`,
    columns: ['documents', 'seconds', 'docs/s', 'planted pairs >= threshold', 'recall', 'clusters', 'cluster precision', 'candidate pairs verified', 'peak RSS (MiB)'],
    rows: [[m.documents, formatNumber(m.seconds), formatNumber(m.docsPerSec), m.plantedPairsAtThreshold, `${(100 * m.recall).toFixed(1)}%`, m.clusters, `${(100 * m.clusterPrecision).toFixed(1)}%`, m.candidatePairs, formatNumber(m.peakRssMiB)]],
    notes: ['Target (issue 4): 100,000 short documents in under 60 s on this 2-core machine.', 'No Python peer: datasketch is not installed here.'],
  });
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  await runNearDupBench(process.argv.includes('--quick'), (s) => process.stderr.write(s + '\n'));
}
