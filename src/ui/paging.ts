/**
 * Paging of the dashboard's long lists (the runs table, a model's versions and history), done by the server so
 * that a page lays out only the rows it shows while filters and sorting still cover every row. The state lives
 * in the URL (`?offset=50&limit=50`, plus the list's own filter and sort), so a page can be shared and its
 * links work without JavaScript; the JSON API takes the same parameters.
 *
 * @module
 */
import { escapeHtml } from '../report/html.ts';
import { SwitchyardError } from '../util/errors.ts';
import { inRange, rangeText, type NumberRange } from '../util/ranges.ts';

/** The most rows one page may ask for (`?limit=`, `--page-size`). */
export const MAX_PAGE_SIZE = 1000;

/** Ranges of the paging query parameters. */
const OFFSET_RANGE: NumberRange = { min: 0, integer: true };
const LIMIT_RANGE: NumberRange = { min: 1, max: MAX_PAGE_SIZE, integer: true };

/**
 * Which rows a page shows: `limit` rows from `offset` (0-based).
 *
 * @example
 * const q: PageQuery = { offset: 50, limit: 50 };
 */
export interface PageQuery {
  offset: number;
  limit: number;
}

/**
 * One page of a list: its rows and where they sit in the whole (`total` rows after filtering).
 *
 * @example
 * const p: Paged<number> = { items: [3, 4], total: 10, offset: 2, limit: 2 };
 */
export interface Paged<T> extends PageQuery {
  items: T[];
  total: number;
}

/** A whole number query parameter, or `fallback` when absent; throws `E_USAGE` naming the parameter. */
function intParam(query: Record<string, unknown>, key: string, range: NumberRange, fallback: number): number {
  const raw = query[key];
  if (raw === undefined || raw === '') return fallback;
  const v = typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!inRange(range, v)) {
    const what = `?${key}=${JSON.stringify(String(raw).slice(0, 40))}: must be ${rangeText(range)}`;
    throw new SwitchyardError('E_USAGE', what, `follow the page links, or fix ?${key}= in the address`);
  }
  return v;
}

/**
 * The page a request asks for: `?offset=` (default 0) and `?limit=` (default `pageSize`, at most
 * {@link MAX_PAGE_SIZE}); `offsetKey` names the offset parameter where a page holds two lists. Throws `E_USAGE`
 * (answered 400) for values that are not whole numbers in range.
 *
 * @param query the request's parsed query
 * @param pageSize the dashboard's page size (`--page-size`)
 * @param offsetKey the offset parameter's name
 * @example
 * pageQuery({ offset: '50' }, 50); // { offset: 50, limit: 50 }
 */
export function pageQuery(query: Record<string, unknown>, pageSize: number, offsetKey = 'offset'): PageQuery {
  const offset = intParam(query, offsetKey, OFFSET_RANGE, 0);
  return { offset, limit: intParam(query, 'limit', LIMIT_RANGE, pageSize) };
}

/**
 * The rows of `all` that page `q` shows.
 *
 * @param all every row, filtered and sorted
 * @param q the page
 * @example
 * pageOf([1, 2, 3, 4, 5], { offset: 2, limit: 2 }); // { items: [3, 4], total: 5, offset: 2, limit: 2 }
 */
export function pageOf<T>(all: T[], q: PageQuery): Paged<T> {
  return { items: all.slice(q.offset, q.offset + q.limit), total: all.length, ...q };
}

/**
 * `path` with the non-empty `params` as its query, HTML-escaped (for an `href`).
 *
 * @param path the dashboard path
 * @param params query parameters; empty or undefined ones are left out
 * @example
 * queryPath('/', { sort: 'steps', q: '' }); // '/?sort=steps'
 */
export function queryPath(path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => !!e[1])).toString();
  return escapeHtml(q ? `${path}?${q}` : path);
}

/**
 * Links to the first, previous, next and last page of a paged list (plain links: they work without JavaScript
 * and by keyboard), with `state` (filter, sort, limit, token: whatever else the URL holds) kept in each, and
 * where the page sits (`rows 51–100 of 1000`). Nothing when everything fits on one page.
 *
 * @param path the page's path
 * @param state the other query parameters to keep (empty values are left out)
 * @param p the page shown
 * @param label what the rows are, for the text and the navigation's accessible name (`runs`, `versions`)
 * @param offsetKey the offset parameter's name
 * @example
 * pagerNav('/', { sort: 'steps', limit: '50' }, { items, total: 1000, offset: 50, limit: 50 }, 'runs');
 */
export function pagerNav(
  path: string, state: Record<string, string | undefined>, p: Paged<unknown>, label: string, offsetKey = 'offset',
): string {
  if (p.offset === 0 && p.total <= p.limit) return '';
  const href = (offset: number) =>
    queryPath(path, { ...state, [offsetKey]: offset > 0 ? String(offset) : undefined });
  const last = Math.max(0, Math.floor((p.total - 1) / p.limit) * p.limit);
  const prev = Math.max(0, p.offset - p.limit);
  const link = (text: string, offset: number, on: boolean, rel = '') =>
    on ? `<a href="${href(offset)}"${rel ? ` rel="${rel}"` : ''}>${text}</a>` : '';
  const shown = p.items.length ? `${label} ${p.offset + 1}–${p.offset + p.items.length} of ${p.total}`
    : `no ${label} from ${p.offset + 1} (${p.total} in all)`;
  const links = [
    link('first', 0, p.offset > 0), link('previous', prev, p.offset > 0, 'prev'),
    link('next', p.offset + p.limit, p.offset + p.limit < p.total, 'next'), link('last', last, p.offset < last),
  ].filter(Boolean).join(' ');
  return `<nav class="pager" aria-label="${escapeHtml(label)} pages"><span>${escapeHtml(shown)}</span> ${links}</nav>`;
}
