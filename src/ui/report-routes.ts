/**
 * The dashboard's routes for reports and registry versions: the reports folder's list, a report opened in
 * place and its files, a version's lineage page and the reports linked to it. Ids in URLs are looked up among
 * what was found (reports) or what the registry links (versions); none becomes a path.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Registry } from '../registry/registry.ts';
import { collectEvidence } from '../report/evidence.ts';
import { SwitchyardError } from '../util/errors.ts';
import { linkedFile, versionPage, versionRef } from './lineage.ts';
import { html, versionPath } from './pages.ts';
import { reportsPage, reportViewPage, sendReportFile, reportPath } from './report-pages.ts';
import { findReports, readReportFile, reportById, type FoundReport } from './reports.ts';
import { listRuns, runDirOf } from './runs.ts';
import type { RunsCache } from './runs-cache.ts';

/**
 * What the report routes need of the dashboard's options.
 *
 * @example
 * const o: ReportRouteOptions = { runs: 'runs', reports: 'reports', registry: reg };
 */
export interface ReportRouteOptions {
  runs: string;
  /** The reports folder; without it only reports linked to registry versions are shown. */
  reports?: string;
  registry?: Registry;
  token?: string;
  /** The dashboard's summaries of runs, so listing reports reads only what runs appended since. */
  cache?: RunsCache;
}

/**
 * The reports of the reports folder, linked to the runs of the runs folder (empty without a folder).
 *
 * @param o the dashboard's folders
 * @example
 * const mine = (await allReports(o)).filter((r) => r.runs.includes('penguins'));
 */
export async function allReports(o: ReportRouteOptions): Promise<FoundReport[]> {
  if (o.reports === undefined) return [];
  return findReports(o.reports, o.runs, (await listRuns(o.runs, o.cache)).map((r) => r.id));
}

function needRegistry(reg: Registry | undefined): Registry {
  if (!reg) throw new SwitchyardError('E_UI_VERSION', 'no registry', 'start the dashboard with --registry DIR');
  return reg;
}

/**
 * Registers the report and version routes on the dashboard's Fastify app.
 *
 * @param app the dashboard's Fastify instance
 * @param o folders, registry and token
 * @example
 * reportRoutes(app, { runs: 'runs', reports: 'reports', registry: reg, token });
 */
export function reportRoutes(app: FastifyInstance, o: ReportRouteOptions): void {
  const { token } = o;
  type Id = { Params: { id: string }; Querystring: { as?: string } };
  app.get('/reports', async (_q, reply) => html(reply, reportsPage(await allReports(o), o.reports, token)));
  app.get('/api/reports', async () => ({ reports: await allReports(o) }));
  app.get<Id>('/reports/:id', async (req, reply) => {
    const r = reportById(await allReports(o), req.params.id);
    const files: [string, string][] = [[r.json.split('/').pop()!, `${reportPath(r)}/file?as=json`]];
    if (r.html) files.unshift([r.html.split('/').pop()!, `${reportPath(r)}/file`]);
    return html(reply, reportViewPage(`${r.kind} report: ${r.json}`, `${reportPath(r)}/file`, files, token));
  });
  app.get<Id>('/reports/:id/file', async (req, reply) => {
    const r = reportById(await allReports(o), req.params.id);
    const rel = req.query.as === 'json' || !r.html ? r.json : r.html;
    return sendReportFile(reply, rel, await readReportFile(o.reports!, rel));
  });
  type Version = { Params: { name: string; version: string }; Querystring: { file?: string } };
  const evidence = (p: Version['Params']) => collectEvidence(needRegistry(o.registry), versionRef(p.name, p.version));
  app.get<Version>('/registry/:name/:version', async (req, reply) => {
    const ev = await evidence(req.params);
    // Only the reports folder needs every run listed; the parent run is looked up alone.
    const found = o.reports === undefined ? [] : await allReports(o);
    const isRun = (id: string) => {
      try {
        return Boolean(runDirOf(o.runs, id));
      } catch {
        return false;
      }
    };
    return html(reply, versionPage(ev, o.runs, isRun, found, token));
  });
  app.get<Version>('/registry/:name/:version/reports', async (req, reply) => {
    const ev = await evidence(req.params);
    const f = linkedFile(ev, req.query.file);
    const file = `${versionPath(ev.version.name, ev.version.version)}/file?file=${encodeURIComponent(f.path)}`;
    const title = `${ev.version.name} v${ev.version.version}: ${f.path}`;
    return html(reply, reportViewPage(title, file, [[f.path.split('/').pop()!, file]], token));
  });
  app.get<Version>('/registry/:name/:version/file', async (req, reply: FastifyReply) => {
    const f = linkedFile(await evidence(req.params), req.query.file);
    return sendReportFile(reply, f.path, f.bytes);
  });
}
