/**
 * Loading and profiling one split with DuckDB: the file becomes a normalised VARCHAR table (trimmed cells,
 * missing as NULL, rows in file order) plus a twin table of finite DOUBLEs, and SQL aggregates give counts,
 * semantic kinds, numeric summaries (quantiles, MAD, histogram) and top values without the rows ever
 * becoming JS arrays.
 */
import { type DuckSession, type LoadedTable, sqlIdent, type TableFormat } from '../data/readers/index.ts';
import { inferKind, parseKindOverrides, type ColumnCounts, type SemanticKind } from './semantic.ts';
import { booleanSql, datetimeSql, normalizeSql, num, numberSql } from './sql.ts';
import type { ColumnProfile, SplitProfile } from './types.ts';

/** Quantiles every numeric profile carries. */
export const QUANTILES: Record<string, number> = { p01: 0.01, p25: 0.25, p50: 0.5, p75: 0.75, p99: 0.99 };
const HISTOGRAM_BINS = 20;
/** Up to this many rows quantiles, MAD and distinct counts are exact; above, approximate where exactness does not change a finding. */
export const EXACT_ROWS = 50_000;
/** Distinct counts are exact below this many (approximate) distinct values. */
const EXACT_DISTINCT = 10_000;
const TOP_VALUES = 10;

/**
 * A loaded, profiled split: the report-facing {@link SplitProfile} plus what the checks query.
 *
 * @example
 * const s = await loadSplit(db, 'train.csv', 'train');
 * await db.all(`SELECT count(*) FROM ${s.table}`);
 */
export interface ProfiledSplit {
  split: string;
  /** Normalised VARCHAR table (SQL identifier): trimmed cells, NULL for missing, `rowid` = data row. */
  table: string;
  /** Twin table with the same columns as finite DOUBLE (NULL for non-numbers), same `rowid`s. */
  numTable: string;
  loaded: LoadedTable;
  profile: SplitProfile;
  /** Profiled columns by name (ignored ones excluded). */
  byName: Map<string, ColumnProfile>;
  counts: Record<string, ColumnCounts>;
  /** Median absolute deviation per numeric column. */
  mad: Record<string, number>;
  /** Columns left out with `ignore`. */
  ignored: string[];
  /** The validated kind overrides. */
  overrides: Record<string, SemanticKind>;
}

/**
 * Loads `path` as split `split` into DuckDB and profiles every column. `kinds` fixes kinds (`{ zip: 'categorical' }`
 * or `['zip=categorical']`; `ignore` leaves a column out of every check); unknown names throw `E_CSV_COLUMN`
 * unless `lenient` (used for the test split, which may lack a column). Above `exactRows` (default
 * {@link EXACT_ROWS}) quantiles, MAD and large distinct counts are approximate.
 *
 * @example
 * const db = await DuckSession.open();
 * const train = await loadSplit(db, 'train.csv', 'train', { zip: 'categorical' });
 * train.profile.columns.map((c) => c.kind);
 */
export async function loadSplit(db: DuckSession, path: string, split: string, kinds: Record<string, string> | readonly string[] = {}, opts: { format?: TableFormat; lenient?: boolean; exactRows?: number } = {}): Promise<ProfiledSplit> {
  const name = `split_${split.replace(/\W/g, '_')}`;
  const loaded = await db.load(path, name, { format: opts.format, project: (cols) => cols.map((c) => `${normalizeSql(c)} AS ${sqlIdent(c)}`).join(', ') });
  const entries = Array.isArray(kinds) ? kinds.map((e) => e.split('=') as [string, string]) : Object.entries(kinds);
  const overrides = parseKindOverrides(Object.fromEntries(opts.lenient ? entries.filter(([k]) => loaded.columns.includes(k)) : entries), loaded.columns, path);
  const numTable = sqlIdent(`${name}__num`);
  await db.run(`CREATE OR REPLACE TABLE ${numTable} AS SELECT ${loaded.columns.map((c) => `(CASE WHEN isfinite(${sqlIdent(c)}) THEN ${sqlIdent(c)} END) AS ${sqlIdent(c)}`).join(', ')} FROM (SELECT ${loaded.columns.map((c) => `${numberSql(c)} AS ${sqlIdent(c)}`).join(', ')} FROM ${loaded.table})`);
  const cols = loaded.columns.filter((c) => overrides[c] !== 'ignore');
  const ignored = loaded.columns.filter((c) => overrides[c] === 'ignore');
  const exact = loaded.rows <= (opts.exactRows ?? EXACT_ROWS);
  const counts = await columnCounts(db, loaded.table, numTable, cols, loaded.rows, exact);
  const kindOf = new Map(cols.map((c) => [c, overrides[c] && overrides[c] !== 'ignore' ? (overrides[c] as ColumnProfile['kind']) : inferKind(c, counts[c]).kind]));
  const numeric = cols.filter((c) => kindOf.get(c) === 'numeric' && counts[c].numeric > 0);
  const shapes = await numericShapes(db, numTable, exact, numeric.map((c) => ({ name: c, min: counts[c].min, max: counts[c].max })));
  const mad: Record<string, number> = {};
  const columns: ColumnProfile[] = [];
  for (const c of cols) {
    const s = counts[c];
    const kind = kindOf.get(c)!;
    const p: ColumnProfile = { name: c, kind, source: overrides[c] ? 'override' : 'inferred', storageType: kind === 'numeric' ? 'DOUBLE' : 'VARCHAR', rows: s.rows, missing: s.missing, distinct: s.distinct };
    const shape = shapes.get(c);
    if (shape) {
      Object.assign(p, { min: s.min, max: s.max, mean: shape.mean, std: shape.std, quantiles: shape.quantiles, histogram: shape.histogram });
      mad[c] = shape.mad;
    } else {
      p.topValues = await topValues(db, loaded.table, c);
      if (kind === 'text' && s.rows > s.missing) p.meanLength = s.totalLength / (s.rows - s.missing);
    }
    columns.push(p);
  }
  const profile: SplitProfile = { split, file: path, format: loaded.format, rows: loaded.rows, columns };
  return { split, table: loaded.table, numTable, loaded, profile, byName: new Map(columns.map((c) => [c.name, c])), counts, mad, ignored, overrides };
}

/** One pass over the text table and one over the numeric twin for every column's counts. */
async function columnCounts(db: DuckSession, table: string, numTable: string, cols: string[], rows: number, exact: boolean): Promise<Record<string, ColumnCounts>> {
  if (cols.length === 0) return {};
  const nums = cols.flatMap((c, i) => {
    const q = sqlIdent(c);
    return [`count(${q}) AS num${i}`, `count_if(${q} = floor(${q})) AS int${i}`, `min(${q}) AS mn${i}`, `max(${q}) AS mx${i}`];
  });
  const [n] = await db.all(`SELECT ${nums.join(', ')} FROM ${numTable}`);
  // Mostly-numeric columns outside [0, 1] cannot be boolean or text: skip their string statistics.
  const plain = (i: number): boolean => num(n[`num${i}`]) >= 0.5 * rows && (num(n[`mn${i}`]) < 0 || num(n[`mx${i}`]) > 1);
  const text = cols.flatMap((c, i) => {
    const q = sqlIdent(c);
    const d = exact ? `count(DISTINCT ${q}) AS d${i}` : `approx_count_distinct(${q}) AS d${i}`;
    if (plain(i)) return [`count(${q}) AS n${i}`, d, `0 AS len${i}`, `0 AS sp${i}`, `0 AS b${i}`];
    return [`count(${q}) AS n${i}`, d, `sum(length(${q})) AS len${i}`, `count_if(contains(${q}, ' ')) AS sp${i}`, `count_if(${booleanSql(c)}) AS b${i}`];
  });
  const [t] = await db.all(`SELECT ${text.join(', ')} FROM ${table}`);
  if (!exact) {
    // Exact counts where they decide a kind or a finding: few values (constant, boolean, near-constant) or a
    // possibly unique non-float column (identifier); floats with many values keep the HyperLogLog estimate.
    const need = cols.map((c, i) => i).filter((i) => {
      const d = num(t[`d${i}`]);
      const nonMissing = num(t[`n${i}`]);
      const float = num(n[`num${i}`]) >= 0.95 * nonMissing && num(n[`int${i}`]) < num(n[`num${i}`]);
      return d < EXACT_DISTINCT || (d >= 0.9 * nonMissing && !float);
    });
    if (need.length > 0) {
      const [d] = await db.all(`SELECT ${need.map((i) => `count(DISTINCT ${sqlIdent(cols[i])}) AS d${i}`).join(', ')} FROM ${table}`);
      for (const i of need) t[`d${i}`] = d[`d${i}`];
    }
  }
  const out: Record<string, ColumnCounts> = {};
  cols.forEach((c, i) => {
    const nonMissing = num(t[`n${i}`]);
    out[c] = {
      rows, missing: rows - nonMissing, distinct: num(t[`d${i}`]), numeric: num(n[`num${i}`]), integer: num(n[`int${i}`]), boolean: num(t[`b${i}`]),
      datetime: 0, withSpace: num(t[`sp${i}`]), totalLength: num(t[`len${i}`]) || 0, min: num(n[`mn${i}`]), max: num(n[`mx${i}`]),
    };
  });
  // Dates only where a sample says they are plausible: TRY_CAST to TIMESTAMP is the costliest cast.
  const candidates = cols.filter((c) => out[c].numeric < 0.5 * (rows - out[c].missing) && out[c].boolean < rows - out[c].missing);
  if (candidates.length > 0) {
    const [sample] = await db.all(`SELECT ${candidates.map((c, i) => `count_if(${datetimeSql(c)}) AS s${i}, count(${sqlIdent(c)}) AS k${i}`).join(', ')} FROM (SELECT * FROM ${table} LIMIT 2000)`);
    const likely = candidates.filter((_, i) => num(sample[`s${i}`]) >= 0.5 * num(sample[`k${i}`]) && num(sample[`k${i}`]) > 0);
    if (likely.length > 0) {
      const [d] = await db.all(`SELECT ${likely.map((c, i) => `count_if(${datetimeSql(c)}) AS dt${i}`).join(', ')} FROM ${table}`);
      likely.forEach((c, i) => (out[c].datetime = num(d[`dt${i}`])));
    }
  }
  return out;
}

interface NumericShape {
  quantiles: Record<string, number>;
  histogram: { edges: number[]; counts: number[] };
  mad: number;
  mean: number;
  std: number;
}

/**
 * Quantiles, MAD, mean, std and a 20-bin histogram of every numeric column in one scan of the numeric twin
 * (exact up to {@link EXACT_ROWS} rows, DuckDB's t-digest `approx_quantile` above).
 */
async function numericShapes(db: DuckSession, numTable: string, exact: boolean, cols: { name: string; min: number; max: number }[]): Promise<Map<string, NumericShape>> {
  const out = new Map<string, NumericShape>();
  if (cols.length === 0) return out;
  const names = Object.keys(QUANTILES);
  const geometry = cols.map(({ min, max }) => {
    const bins = max > min ? HISTOGRAM_BINS : 1;
    return { bins, width: max > min ? (max - min) / bins : 1 };
  });
  const parts = cols.flatMap(({ name, min }, i) => {
    const x = sqlIdent(name);
    const { bins, width } = geometry[i];
    return [
      exact ? `quantile_cont(${x}, [${Object.values(QUANTILES).join(', ')}]) AS q${i}` : `approx_quantile(${x}, [${Object.values(QUANTILES).join(', ')}]) AS q${i}`,
      ...(exact ? [`mad(${x}) AS mad${i}`] : []), `avg(${x}) AS mean${i}`, `stddev_samp(${x}) AS sd${i}`,
      `histogram(least(floor((${x} - ${min}) / ${width}), ${bins - 1})::INTEGER) AS h${i}`,
    ];
  });
  const [r] = await db.all(`SELECT ${parts.join(', ')} FROM ${numTable}`);
  if (!exact) {
    // MAD around the (approximate) median, in a second pass: approx_quantile(|x - median|, 0.5).
    const med = (i: number): number => num((r[`q${i}`] as unknown[])[2]);
    const [m] = await db.all(`SELECT ${cols.map(({ name }, i) => `approx_quantile(abs(${sqlIdent(name)} - ${med(i)}), 0.5) AS mad${i}`).join(', ')} FROM ${numTable}`);
    cols.forEach((_, i) => (r[`mad${i}`] = m[`mad${i}`]));
  }
  cols.forEach(({ name, min, max }, i) => {
    const qs = ((r[`q${i}`] as unknown[]) ?? []).map(num);
    const { bins, width } = geometry[i];
    const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins && max > min ? max : min + k * width));
    const counts = new Array<number>(bins).fill(0);
    for (const e of (r[`h${i}`] as { key: unknown; value: unknown }[]) ?? []) if (e.key !== null) counts[num(e.key)] = num(e.value);
    out.set(name, { quantiles: Object.fromEntries(names.map((k, j) => [k, qs[j]])), histogram: { edges, counts }, mad: num(r[`mad${i}`]), mean: num(r[`mean${i}`]), std: num(r[`sd${i}`]) || 0 });
  });
  return out;
}

async function topValues(db: DuckSession, table: string, c: string): Promise<{ value: string; count: number }[]> {
  const v = sqlIdent(c);
  const rows = await db.all(`SELECT ${v} AS v, count(*) AS n FROM ${table} WHERE ${v} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${TOP_VALUES}`);
  return rows.map((r) => ({ value: String(r.v), count: num(r.n) }));
}
