/**
 * Seeded corruptions that keep every value's type: tabular (Gaussian noise scaled by each numeric column's
 * training std, feature dropout to missing — which the encoder maps to the training mean plus its missing
 * indicator — and category swaps to another known category) and text (character typos, word drops).
 * They work on raw rows, so the model sees them through its own encoder, as it would in production.
 */
import type { Table } from '../data/csv.ts';
import type { FeatureSpec } from '../data/features.ts';
import { isMissing, parseNumber } from '../data/values.ts';
import { Rng } from '../util/rng.ts';

/**
 * A column a tabular corruption may touch: numeric (with the scale of its noise) or categorical.
 *
 * @example
 * const cols: CorruptibleColumn[] = [{ column: 'age', kind: 'numeric', std: 12 }, { column: 'region', kind: 'categorical', categories: ['n', 's'] }];
 */
export type CorruptibleColumn = { column: string; kind: 'numeric'; std: number; mean?: number } | { column: string; kind: 'categorical'; categories: string[] } | { column: string; kind: 'text' };

/**
 * Names of the corruptions.
 *
 * @example
 * const k: TabularCorruption = 'gaussian-noise';
 */
export type TabularCorruption = 'gaussian-noise' | 'feature-dropout' | 'category-swap' | 'text-typos';

/**
 * Every tabular corruption.
 *
 * @example
 * for (const kind of TABULAR_CORRUPTIONS) corruptTable(table, cols, kind, 0.1, 0);
 */
export const TABULAR_CORRUPTIONS: readonly TabularCorruption[] = ['gaussian-noise', 'feature-dropout', 'category-swap', 'text-typos'];

/**
 * True when `kind` changes at least one of `columns` (noise needs a numeric column, swaps a categorical one, typos a text one).
 *
 * @example
 * TABULAR_CORRUPTIONS.filter((k) => corruptionApplies(k, cols));
 */
export function corruptionApplies(kind: TabularCorruption, columns: readonly CorruptibleColumn[]): boolean {
  const need = { 'gaussian-noise': 'numeric', 'category-swap': 'categorical', 'text-typos': 'text', 'feature-dropout': null }[kind];
  return columns.some((c) => need === null || c.kind === need);
}

/**
 * The columns of a fitted encoder that corruptions may touch (booleans count as two categories).
 *
 * @example
 * const cols = corruptibleColumns(model.encoder!.specs);
 */
export function corruptibleColumns(specs: readonly FeatureSpec[]): CorruptibleColumn[] {
  // Image columns are not table cells: their corruptions (noise, blur, contrast) work on pixels, not here.
  return specs.flatMap((s): CorruptibleColumn[] => (s.kind === 'image' ? [] : [corruptibleColumn(s)]));
}

function corruptibleColumn(s: Exclude<FeatureSpec, { kind: 'image' }>): CorruptibleColumn {
  if (s.kind === 'numeric') return { column: s.column, kind: 'numeric', std: s.std };
  if (s.kind === 'boolean') return { column: s.column, kind: 'categorical', categories: ['true', 'false'] };
  if (s.kind === 'text') return { column: s.column, kind: 'text' };
  return { column: s.column, kind: 'categorical', categories: s.categories };
}

/**
 * Numeric columns of a table with their mean and std measured on it (for models that carry no encoder and
 * so take no missing values: feature dropout then writes the mean).
 *
 * @example
 * const cols = numericColumnsOf(table, ['label']);
 */
export function numericColumnsOf(table: Table, exclude: readonly string[] = []): CorruptibleColumn[] {
  const out: CorruptibleColumn[] = [];
  table.columns.forEach((column, j) => {
    if (exclude.includes(column)) return;
    const v = table.rows.map((r) => parseNumber(r[j] ?? '')).filter((x) => !Number.isNaN(x));
    if (v.length === 0) return;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    out.push({ column, kind: 'numeric', std: std > 0 ? std : 1, mean });
  });
  return out;
}

/** Formats a noisy number without float noise in the text (7 significant digits). */
function formatNumber(v: number): string {
  return String(Number(v.toPrecision(7)));
}

/**
 * Returns a corrupted copy of `table` (the input is not modified). `severity` is the noise scale in stds
 * (`gaussian-noise`), the probability that a cell is dropped/swapped (`feature-dropout`, `category-swap`), or
 * the per-letter typo rate in text columns (`text-typos`).
 * A dropped cell becomes missing, or the column's `mean` when one is given.
 * Missing cells stay missing; the same seed gives the same table.
 *
 * @example
 * const noisy = corruptTable(table, corruptibleColumns(enc.specs), 'gaussian-noise', 0.5, 7);
 */
export function corruptTable(table: Table, columns: readonly CorruptibleColumn[], kind: TabularCorruption, severity: number, seed: number): Table {
  const rng = new Rng(seed);
  const rows = table.rows.map((r) => [...r]);
  const index = new Map(table.columns.map((c, j) => [c, j]));
  const cols = columns.map((c) => ({ c, j: index.get(c.column) })).filter((e): e is { c: CorruptibleColumn; j: number } => e.j !== undefined);
  for (const row of rows) {
    for (const { c, j } of cols) {
      const cell = row[j] ?? '';
      if (isMissing(cell)) continue;
      if (kind === 'feature-dropout') {
        if (rng.next() < severity) row[j] = c.kind === 'numeric' && c.mean !== undefined ? formatNumber(c.mean) : '';
      } else if (kind === 'text-typos') {
        if (c.kind === 'text') row[j] = typos(cell, severity, rng.nextU32());
      } else if (kind === 'gaussian-noise') {
        if (c.kind !== 'numeric') continue;
        const v = parseNumber(cell);
        if (!Number.isNaN(v)) row[j] = formatNumber(v + rng.normal() * severity * c.std);
      } else if (c.kind === 'categorical' && c.categories.length > 1 && rng.next() < severity) {
        const others = c.categories.filter((x) => x !== cell.trim());
        row[j] = others[rng.int(others.length)];
      }
    }
  }
  return { ...table, rows };
}

/**
 * Names of the text corruptions.
 *
 * @example
 * const k: TextCorruption = 'typos';
 */
export type TextCorruption = 'typos' | 'word-drop';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Character typos: each letter is, with probability `rate`, deleted, duplicated, replaced by a random
 * letter, or swapped with the next character (one of the four at random). Seeded.
 *
 * @example
 * typos('the quick brown fox', 0.1, 1); // 'the quikc brown fox'
 */
export function typos(text: string, rate: number, seed: number): string {
  const rng = new Rng(seed);
  const chars = [...text];
  const out: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (!/\p{L}/u.test(ch) || rng.next() >= rate) {
      out.push(ch);
      continue;
    }
    const op = rng.int(4);
    if (op === 0) continue;
    if (op === 1) out.push(ch, ch);
    else if (op === 2) out.push(LETTERS[rng.int(26)]);
    else if (i + 1 < chars.length) {
      out.push(chars[i + 1], ch);
      i++;
    } else out.push(ch);
  }
  return out.join('');
}

/**
 * Drops each whitespace-separated word with probability `rate` (the whitespace around kept words is kept).
 *
 * @example
 * wordDrop('a b c d', 0.5, 3); // 'a c d'
 */
export function wordDrop(text: string, rate: number, seed: number): string {
  const rng = new Rng(seed);
  const parts = text.split(/(\s+)/);
  const out: string[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    if (parts[i] !== '' && rng.next() < rate) continue;
    out.push(parts[i]);
    if (i + 1 < parts.length) out.push(parts[i + 1]);
  }
  return out.join('');
}

/**
 * Applies one text corruption.
 *
 * @example
 * corruptText('some text', 'word-drop', 0.2, 0);
 */
export function corruptText(text: string, kind: TextCorruption, rate: number, seed: number): string {
  return kind === 'typos' ? typos(text, rate, seed) : wordDrop(text, rate, seed);
}
