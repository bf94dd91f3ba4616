/**
 * The runs table's filter and sort, done by the server over every run before a page is cut from them (so a
 * filter or a sort covers all runs, not only the page shown). The same query parameters drive the runs page
 * and `GET /api/runs`: `q` (filter), `sort` (a column), `order` (`asc` or `desc`), plus `offset` and `limit`.
 *
 * @module
 */
import { SwitchyardError } from '../util/errors.ts';
import { pageOf, pageQuery, type Paged } from './paging.ts';
import type { RunSummary } from './runs.ts';

/** The columns the runs table sorts by, as `?sort=` names them. */
export const RUN_SORT_KEYS = ['id', 'kind', 'status', 'steps', 'bestMetric', 'bestValue'] as const;

/**
 * A runs table request: filter text, sort column and direction, and the page.
 *
 * @example
 * const q: RunsQuery = { q: 'lm', sort: 'steps', order: 'desc', offset: 0, limit: 50 };
 */
export interface RunsQuery {
  /** Case-insensitive text a row's id, kind, status or best metric must contain ('' keeps every run). */
  q: string;
  sort: (typeof RUN_SORT_KEYS)[number];
  order: 'asc' | 'desc';
  offset: number;
  limit: number;
}

/**
 * The runs query of a request; throws `E_USAGE` (answered 400) for an unknown `sort` or `order` or a paging
 * value out of range.
 *
 * @param query the request's parsed query
 * @param pageSize the dashboard's page size (`--page-size`)
 * @example
 * runsQuery({ sort: 'steps', order: 'desc' }, 50); // { q: '', sort: 'steps', order: 'desc', offset: 0, limit: 50 }
 */
export function runsQuery(query: Record<string, unknown>, pageSize: number): RunsQuery {
  const text = (key: string) => (typeof query[key] === 'string' ? (query[key] as string).trim() : '');
  const sort = text('sort') || 'id';
  if (!(RUN_SORT_KEYS as readonly string[]).includes(sort)) {
    throw new SwitchyardError('E_USAGE', `?sort=${JSON.stringify(sort.slice(0, 40))}: not a column of the runs table`,
      `use one of ${RUN_SORT_KEYS.join(', ')}`);
  }
  const order = text('order') || 'asc';
  if (order !== 'asc' && order !== 'desc') {
    throw new SwitchyardError('E_USAGE', `?order=${JSON.stringify(order.slice(0, 40))}: not asc or desc`,
      'use ?order=asc or ?order=desc');
  }
  return { q: text('q'), sort: sort as RunsQuery['sort'], order, ...pageQuery(query, pageSize) };
}

/** Ascending comparison of one column; rows without a value (no records yet) come last in either direction. */
function compareBy(key: RunsQuery['sort'], a: RunSummary, b: RunSummary): number {
  const [x, y] = [a[key], b[key]];
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  return String(x).localeCompare(String(y));
}

/**
 * The page of runs `query` asks for: the rows matching its filter, sorted by its column (ties by id), cut to
 * its page.
 *
 * @param rows every run (`listRuns`)
 * @param query see {@link runsQuery}
 * @example
 * const page = queryRuns(await listRuns('runs'), runsQuery({ q: 'lm', sort: 'bestValue' }, 50));
 */
export function queryRuns(rows: RunSummary[], query: RunsQuery): Paged<RunSummary> {
  const needle = query.q.toLowerCase();
  const matching = needle
    ? rows.filter((r) => [r.id, r.kind, r.status, r.bestMetric ?? ''].some((s) => s.toLowerCase().includes(needle)))
    : rows;
  const sign = query.order === 'desc' ? -1 : 1;
  const sorted = [...matching].sort((a, b) => {
    const [ma, mb] = [a[query.sort] === undefined, b[query.sort] === undefined];
    if (ma !== mb) return ma ? 1 : -1;
    return sign * compareBy(query.sort, a, b) || a.id.localeCompare(b.id);
  });
  return pageOf(sorted, query);
}
