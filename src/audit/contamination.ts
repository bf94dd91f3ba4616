/**
 * Contamination of an evaluation set by a training corpus: word n-gram overlap (13-grams by default, as in the
 * GPT-3 paper and lm-evaluation-harness) after folding case and replacing punctuation with spaces.
 *
 * Every training n-gram is stored as two independent 32-bit hashes in an open-addressing table of two
 * `Uint32Array`s (about 13-26 bytes per distinct n-gram, no objects), so a corpus of tens of millions of
 * n-grams fits. An example's overlap ratio is the share of its n-gram positions found in the corpus; it is
 * contaminated when that share is above `minOverlap` (default 0: any shared n-gram, the GPT-3 "dirty" rule).
 *
 * Examples shorter than `n` words cannot hold an n-gram. Those with at least `minN` words (default 8, GPT-3's
 * smallest N) are checked whole: contaminated (ratio 1) when their entire word sequence occurs in a
 * training document, clean (ratio 0) otherwise. Shorter ones are reported with `checked: false` and never
 * flagged, since a handful of common words proves nothing.
 */
import { SwitchyardError } from '../util/errors.ts';
import { fmix32, murmurStep, normalizeText, wordHashes } from './text-normalize.ts';
import { MAX_EVIDENCE_ROWS, type Finding } from './types.ts';

/**
 * A set of 64-bit keys given as two 32-bit halves, in two typed arrays with linear probing. The key (0, 0) is
 * stored as (0, 1): a 2^-64 collision.
 *
 * @example
 * const set = new NgramSet();
 * set.add(12, 34);
 * set.has(12, 34); // true
 */
export class NgramSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private mask: number;
  /** Number of distinct keys. */
  size = 0;

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.mask = cap - 1;
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.hi.byteLength + this.lo.byteLength;
  }

  /** Adds a key; returns true when it was new. */
  add(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    if ((this.size + 1) * 5 > this.hi.length * 3) this.rehash();
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const h = this.hi[i];
      const l = this.lo[i];
      if (h === 0 && l === 0) {
        this.hi[i] = hi;
        this.lo[i] = lo;
        this.size++;
        return true;
      }
      if (h === hi && l === lo) return false;
      i = (i + 1) & this.mask;
    }
  }

  /** Whether the key is in the set. */
  has(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const h = this.hi[i];
      const l = this.lo[i];
      if (h === 0 && l === 0) return false;
      if (h === hi && l === lo) return true;
      i = (i + 1) & this.mask;
    }
  }

  private rehash(): void {
    const oldHi = this.hi;
    const oldLo = this.lo;
    this.hi = new Uint32Array(oldHi.length * 2);
    this.lo = new Uint32Array(oldLo.length * 2);
    this.mask = this.hi.length - 1;
    this.size = 0;
    for (let i = 0; i < oldHi.length; i++) if (oldHi[i] !== 0 || oldLo[i] !== 0) this.add(oldHi[i], oldLo[i]);
  }
}

/** Reusable buffers that turn one document into its word n-gram hash pairs. */
class NgramHasher {
  private wHi: Uint32Array = new Uint32Array(256);
  private wLo: Uint32Array = new Uint32Array(256);
  /** Word count of the last document passed to {@link load}. */
  words = 0;

  load(text: string): number {
    const w = wordHashes(normalizeText(text, { stripPunctuation: true }), this.wHi, this.wLo);
    this.wHi = w.hi;
    this.wLo = w.lo;
    this.words = w.count;
    return w.count;
  }

  /** Calls `emit(hi, lo)` for every `n`-gram of the loaded document, in order. */
  forEach(n: number, emit: (hi: number, lo: number) => void): void {
    const hi = this.wHi;
    const lo = this.wLo;
    for (let i = 0; i + n <= this.words; i++) {
      let a = 0x3c6ef372;
      let b = 0xa54ff53a;
      for (let j = 0; j < n; j++) {
        a = murmurStep(a, hi[i + j]);
        b = murmurStep(b, lo[i + j]);
      }
      emit(fmix32(a ^ n), fmix32(b ^ Math.imul(n, 0x27d4eb2f)));
    }
  }
}

/**
 * Options of the contamination check.
 *
 * @example
 * measureContamination(train, test, { n: 8, minOverlap: 0.1 } satisfies ContaminationOptions);
 */
export interface ContaminationOptions {
  /** N-gram length in words. Default 13. */
  n?: number;
  /** Examples with fewer words than this (and fewer than `n`) are not checked. Default 8 (capped at `n`). */
  minN?: number;
  /** An example is contaminated when its overlap ratio is above this. Default 0 (any shared n-gram). */
  minOverlap?: number;
  /** Called with (training documents indexed, total) every 1,024 documents and at the end. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Contamination of one evaluation example.
 *
 * @example
 * { row: 12, contaminated: true, overlapRatio: 0.43, ngrams: 58, checked: true }
 */
export interface ExampleContamination {
  /** 0-based row of the evaluation set. */
  row: number;
  contaminated: boolean;
  /** Share of the example's n-grams (positions) found in the training corpus; 0 or 1 for short examples. */
  overlapRatio: number;
  /** The example's n-gram positions (1 for a short example checked whole, 0 when unchecked). */
  ngrams: number;
  /** False when the example was too short to check (fewer than `minN` words). */
  checked: boolean;
}

/**
 * Result of {@link measureContamination}.
 *
 * @example
 * const { contaminated, unchecked, perExample } = measureContamination(train, test);
 */
export interface ContaminationResult {
  n: number;
  perExample: ExampleContamination[];
  /** Number of contaminated examples. */
  contaminated: number;
  /** Number of examples too short to check. */
  unchecked: number;
  /** Distinct training n-grams indexed, and the bytes their table holds. */
  trainNgrams: number;
  indexBytes: number;
}

/**
 * Per-example n-gram overlap of `evalDocs` with `trainDocs` (see the module comment for the rules).
 *
 * @example
 * const r = measureContamination(trainTexts, testTexts);
 * r.perExample.filter((e) => e.contaminated).map((e) => [e.row, e.overlapRatio]); // e.g. [[12, 0.43]]
 */
export function measureContamination(trainDocs: readonly string[], evalDocs: readonly string[], opts: ContaminationOptions = {}): ContaminationResult {
  const n = opts.n ?? 13;
  const minN = Math.min(opts.minN ?? 8, n);
  const minOverlap = opts.minOverlap ?? 0;
  if (!(Number.isInteger(n) && n >= 1)) throw new SwitchyardError('E_CONTAM_OPTION', `contamination: n-gram length ${n} is not a positive integer`, 'the default is 13 words');
  if (!(Number.isInteger(minN) && minN >= 1)) throw new SwitchyardError('E_CONTAM_OPTION', `contamination: minN ${minN} is not a positive integer`, 'the default is 8 words');
  if (!(minOverlap >= 0 && minOverlap < 1)) throw new SwitchyardError('E_CONTAM_OPTION', `contamination: minOverlap ${minOverlap} is outside [0, 1)`, 'use 0 to flag any shared n-gram');
  const hasher = new NgramHasher();

  // Short examples: their whole word sequence, keyed by length, matched during the one pass over training.
  const short = new Map<number, { keys: NgramSet; found: NgramSet }>();
  const shortKey = new Map<number, [number, number]>();
  const wordCounts = new Int32Array(evalDocs.length);
  for (let r = 0; r < evalDocs.length; r++) {
    const w = hasher.load(evalDocs[r] ?? '');
    wordCounts[r] = w;
    if (w >= n || w < minN) continue;
    let entry = short.get(w);
    if (!entry) short.set(w, (entry = { keys: new NgramSet(16), found: new NgramSet(16) }));
    const e = entry;
    hasher.forEach(w, (hi, lo) => {
      e.keys.add(hi, lo);
      shortKey.set(r, [hi, lo]);
    });
  }

  const index = new NgramSet(1 << 16);
  for (let d = 0; d < trainDocs.length; d++) {
    if (opts.onProgress && (d & 1023) === 1023) opts.onProgress(d + 1, trainDocs.length);
    hasher.load(trainDocs[d] ?? '');
    hasher.forEach(n, (hi, lo) => void index.add(hi, lo));
    for (const [w, e] of short) hasher.forEach(w, (hi, lo) => void (e.keys.has(hi, lo) && e.found.add(hi, lo)));
  }

  opts.onProgress?.(trainDocs.length, trainDocs.length);
  const perExample: ExampleContamination[] = [];
  let contaminated = 0;
  let unchecked = 0;
  for (let r = 0; r < evalDocs.length; r++) {
    const w = wordCounts[r];
    let ngrams = 0;
    let hits = 0;
    if (w >= n) {
      hasher.load(evalDocs[r] ?? '');
      hasher.forEach(n, (hi, lo) => {
        ngrams++;
        if (index.has(hi, lo)) hits++;
      });
    } else if (w >= minN) {
      const [hi, lo] = shortKey.get(r)!;
      ngrams = 1;
      hits = short.get(w)!.found.has(hi, lo) ? 1 : 0;
    }
    const checked = ngrams > 0;
    const overlapRatio = checked ? hits / ngrams : 0;
    const isDirty = checked && hits > 0 && overlapRatio > minOverlap;
    if (isDirty) contaminated++;
    if (!checked) unchecked++;
    perExample.push({ row: r, contaminated: isDirty, overlapRatio, ngrams, checked });
  }
  return { n, perExample, contaminated, unchecked, trainNgrams: index.size, indexBytes: index.bytes };
}

/** Share of evaluation examples at or above which contamination is an `error` (any is a `warn`). */
const CONTAM_ERROR = 0.01;

/**
 * The `contamination.ngram` finding: evaluation examples sharing n-grams with the training corpus, most
 * overlapping first. Score = share of contaminated examples. No finding when none is contaminated.
 *
 * @example
 * const [f] = findContamination(trainTexts, testTexts, { column: 'question' });
 * f?.message; // '12 of 500 evaluation examples (2.4%) share a 13-gram with the training corpus ...'
 */
export function findContamination(trainDocs: readonly string[], evalDocs: readonly string[], opts: ContaminationOptions & { column?: string; split?: string } = {}): Finding[] {
  const r = measureContamination(trainDocs, evalDocs, opts);
  if (r.contaminated === 0) return [];
  const checked = evalDocs.length - r.unchecked;
  const score = evalDocs.length ? r.contaminated / evalDocs.length : 0;
  const dirty = r.perExample.filter((e) => e.contaminated).sort((a, b) => b.overlapRatio - a.overlapRatio || a.row - b.row);
  const mean = dirty.reduce((a, e) => a + e.overlapRatio, 0) / dirty.length;
  const split = opts.split ?? 'test';
  return [{
    check: 'contamination.ngram',
    severity: score >= CONTAM_ERROR ? 'error' : 'warn',
    score,
    message: `${r.contaminated.toLocaleString('en-US')} of ${evalDocs.length.toLocaleString('en-US')} evaluation examples (${(100 * score).toFixed(1)}%) share a ${r.n}-gram with the training corpus (mean overlap ${(100 * mean).toFixed(0)}% of their ${r.n}-grams)${opts.column ? ` in column ${opts.column}` : ''}.`,
    ...(opts.column ? { column: opts.column } : {}),
    split,
    evidence: { rows: dirty.slice(0, MAX_EVIDENCE_ROWS).map((e) => e.row) },
    details: {
      n: r.n,
      contaminated: r.contaminated,
      checked,
      unchecked: r.unchecked,
      meanOverlap: mean,
      examples: dirty.slice(0, 100).map((e) => ({ row: e.row, overlapRatio: e.overlapRatio })),
      trainNgrams: r.trainNgrams,
    },
  }];
}
