/**
 * The incident log, the one incident store of serving and monitoring: alerts and automatic rollbacks open
 * incidents; people acknowledge and resolve them; each incident keeps a timeline (opened, acknowledged,
 * resolved, versions linked, notes). Lives in the registry database (SQLite or PostgreSQL).
 */
import type { Db } from '../registry/db.ts';
import type { IncidentInput, IncidentRecorder } from '../serve/guard.ts';
import { SwitchyardError } from '../util/errors.ts';

/** Where an incident stands. */
export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';

/**
 * One timeline entry.
 *
 * @example
 * const e: IncidentEvent = { at: '2025-01-01T00:00:00.000Z', action: 'acknowledged', by: 'alice', note: 'looking' };
 */
export interface IncidentEvent {
  at: string;
  action: 'opened' | 'acknowledged' | 'resolved' | 'linked' | 'note';
  by: string;
  note?: string;
  version?: string;
}

/**
 * An incident with its timeline.
 *
 * @example
 * const i = await log.get('4');
 * i.timeline.map((e) => e.action); // ['opened', 'linked', 'acknowledged', 'resolved']
 */
export interface Incident extends IncidentInput {
  id: string;
  status: IncidentStatus;
  openedAt: string;
  timeline: IncidentEvent[];
}

/**
 * Creates the incident tables once per database and returns the log.
 *
 * @example
 * const log = await openIncidentLog(registry.db);
 * const id = await log.record({ kind: 'alert', title: 'drift.share 0.6 > 0.3', model: 'churn', versions: ['3'], details: {} });
 * await log.acknowledge(id, { by: 'alice' });
 */
export async function openIncidentLog(db: Db): Promise<IncidentLog> {
  const events = (seq: string) => `CREATE TABLE monitor_incident_events (seq ${seq}, incident_id TEXT NOT NULL, at TEXT NOT NULL, action TEXT NOT NULL, by_whom TEXT NOT NULL, note TEXT, version TEXT)`;
  await db.migrate('monitor-incidents-1', {
    sqlite: ['CREATE TABLE monitor_incidents (id INTEGER PRIMARY KEY AUTOINCREMENT, opened_at TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, model TEXT NOT NULL, versions TEXT NOT NULL, details TEXT NOT NULL, status TEXT NOT NULL)', events('INTEGER PRIMARY KEY AUTOINCREMENT')],
    postgres: ['CREATE TABLE monitor_incidents (id BIGSERIAL PRIMARY KEY, opened_at TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, model TEXT NOT NULL, versions TEXT NOT NULL, details TEXT NOT NULL, status TEXT NOT NULL)', events('BIGSERIAL PRIMARY KEY')],
  });
  return new IncidentLog(db);
}

type Row = { id: number; opened_at: string; kind: string; title: string; model: string; versions: string; details: string; status: IncidentStatus };

/**
 * The incident log (use {@link openIncidentLog}).
 *
 * @example
 * const open = await log.list({ status: 'open', model: 'churn' });
 */
export class IncidentLog implements IncidentRecorder {
  constructor(readonly db: Db) {}

  /** Opens an incident (timeline: `opened` by `system`, then one `linked` per version). */
  async record(i: IncidentInput, by = 'system'): Promise<string> {
    const at = new Date().toISOString();
    return this.db.tx(async (t) => {
      const rows = await t.query<{ id: number }>('INSERT INTO monitor_incidents (opened_at, kind, title, model, versions, details, status) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id', [at, i.kind, i.title, i.model, JSON.stringify(i.versions), JSON.stringify(i.details), 'open']);
      const id = String(rows[0].id);
      await t.exec('INSERT INTO monitor_incident_events (incident_id, at, action, by_whom, note) VALUES ($1, $2, $3, $4, $5)', [id, at, 'opened', by, i.title]);
      for (const v of i.versions) await t.exec('INSERT INTO monitor_incident_events (incident_id, at, action, by_whom, version) VALUES ($1, $2, $3, $4, $5)', [id, at, 'linked', by, v]);
      return id;
    });
  }

  /** Marks an open incident acknowledged. */
  acknowledge(id: string, o: { by?: string; note?: string } = {}): Promise<Incident> {
    return this.move(id, 'acknowledged', ['open'], o);
  }

  /** Resolves an open or acknowledged incident. */
  resolve(id: string, o: { by?: string; note?: string } = {}): Promise<Incident> {
    return this.move(id, 'resolved', ['open', 'acknowledged'], o);
  }

  /** Links another model version to the incident (e.g. the fix). */
  async link(id: string, version: string, o: { by?: string; note?: string } = {}): Promise<Incident> {
    await this.db.tx(async (t) => {
      const row = await this.row(t, id);
      const versions = JSON.parse(row.versions) as string[];
      if (!versions.includes(version)) versions.push(version);
      await t.exec('UPDATE monitor_incidents SET versions = $1 WHERE id = $2', [JSON.stringify(versions), row.id]);
      await t.exec('INSERT INTO monitor_incident_events (incident_id, at, action, by_whom, note, version) VALUES ($1, $2, $3, $4, $5, $6)', [id, new Date().toISOString(), 'linked', o.by ?? 'system', o.note ?? null, version]);
    });
    return this.get(id);
  }

  /** Adds a note to the timeline. */
  async note(id: string, note: string, by = 'system'): Promise<void> {
    await this.db.tx(async (t) => {
      await this.row(t, id);
      await t.exec('INSERT INTO monitor_incident_events (incident_id, at, action, by_whom, note) VALUES ($1, $2, $3, $4, $5)', [id, new Date().toISOString(), 'note', by, note]);
    });
  }

  /** One incident with its timeline. Unknown id: `E_INCIDENT_NOT_FOUND`. */
  async get(id: string): Promise<Incident> {
    const row = await this.row(this.db, id);
    return (await this.withTimelines([row]))[0];
  }

  /** Incidents, newest first, optionally by status and model. */
  async list(o: { status?: IncidentStatus | 'unresolved'; model?: string; kind?: string } = {}): Promise<Incident[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (o.status === 'unresolved') where.push("status <> 'resolved'");
    else if (o.status) where.push(`status = $${params.push(o.status)}`);
    if (o.model) where.push(`model = $${params.push(o.model)}`);
    if (o.kind) where.push(`kind = $${params.push(o.kind)}`);
    const rows = await this.db.query<Row>(`SELECT * FROM monitor_incidents${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC`, params);
    return this.withTimelines(rows);
  }

  private async row(db: Db, id: string): Promise<Row> {
    const rows = /^\d+$/.test(id) ? await db.query<Row>('SELECT * FROM monitor_incidents WHERE id = $1', [Number(id)]) : [];
    if (!rows.length) throw new SwitchyardError('E_INCIDENT_NOT_FOUND', `no incident with id '${id}'`, 'see switchyard monitor incidents list');
    return rows[0];
  }

  private async move(id: string, to: IncidentStatus, from: IncidentStatus[], o: { by?: string; note?: string }): Promise<Incident> {
    await this.db.tx(async (t) => {
      const row = await this.row(t, id);
      if (!from.includes(row.status)) throw new SwitchyardError('E_INCIDENT_STATE', `incident ${id} is ${row.status}; it cannot become ${to}`, to === 'acknowledged' ? 'only open incidents can be acknowledged' : 'it is resolved already');
      await t.exec('UPDATE monitor_incidents SET status = $1 WHERE id = $2', [to, row.id]);
      await t.exec('INSERT INTO monitor_incident_events (incident_id, at, action, by_whom, note) VALUES ($1, $2, $3, $4, $5)', [id, new Date().toISOString(), to, o.by ?? 'system', o.note ?? null]);
    });
    return this.get(id);
  }

  private async withTimelines(rows: Row[]): Promise<Incident[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => String(r.id));
    const events = await this.db.query<{ incident_id: string; at: string; action: IncidentEvent['action']; by_whom: string; note: string | null; version: string | null }>(
      `SELECT * FROM monitor_incident_events WHERE incident_id IN (${ids.map((_, i) => `$${i + 1}`).join(', ')}) ORDER BY seq`,
      ids,
    );
    return rows.map((r) => ({
      id: String(r.id), kind: r.kind, title: r.title, model: r.model, versions: JSON.parse(r.versions), details: JSON.parse(r.details), status: r.status, openedAt: r.opened_at,
      timeline: events.filter((e) => e.incident_id === String(r.id)).map((e) => ({ at: e.at, action: e.action, by: e.by_whom, ...(e.note ? { note: e.note } : {}), ...(e.version ? { version: e.version } : {}) })),
    }));
  }
}
