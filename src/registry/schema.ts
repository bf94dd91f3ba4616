/**
 * The registry's tables (one migration, both dialects) and the row shapes read back from them.
 * Versions and their artefacts are written once and never updated (only `status` moves to archived);
 * every change to aliases or status is an `events` row, which is the history.
 */
import { PG_BLOBS_DDL, PG_BLOBS_STORED_AT_DDL } from './blobs.ts';
import type { Db } from './db.ts';

const COMMON = [
  'CREATE TABLE models (name TEXT PRIMARY KEY, created_at TEXT NOT NULL, created_by TEXT NOT NULL)',
  `CREATE TABLE versions (name TEXT NOT NULL REFERENCES models(name), version INTEGER NOT NULL, kind TEXT NOT NULL,
     created_at TEXT NOT NULL, created_by TEXT NOT NULL, reason TEXT, status TEXT NOT NULL DEFAULT 'active',
     lineage TEXT NOT NULL, metrics TEXT, PRIMARY KEY (name, version))`,
  `CREATE TABLE artefacts (name TEXT NOT NULL, version INTEGER NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL,
     bytes BIGINT NOT NULL, PRIMARY KEY (name, version, path), FOREIGN KEY (name, version) REFERENCES versions(name, version))`,
  `CREATE TABLE aliases (name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL,
     updated_by TEXT NOT NULL, PRIMARY KEY (name, alias), FOREIGN KEY (name, version) REFERENCES versions(name, version))`,
];
const EVENTS = (id: string): string =>
  `CREATE TABLE events (id ${id}, name TEXT NOT NULL, at TEXT NOT NULL, by_user TEXT NOT NULL, action TEXT NOT NULL,
     alias TEXT, version INTEGER, from_version INTEGER, to_version INTEGER, reason TEXT)`;
const INDEX = 'CREATE INDEX events_by_name ON events (name, id)';

/**
 * Creates (once) the registry tables in `db`.
 *
 * @example
 * await migrateRegistry(await openDb('registry/registry.sqlite'));
 */
export async function migrateRegistry(db: Db): Promise<void> {
  await db.migrate('registry-1', {
    sqlite: [...COMMON, EVENTS('INTEGER PRIMARY KEY AUTOINCREMENT'), INDEX],
    postgres: [...COMMON, EVENTS('BIGSERIAL PRIMARY KEY'), INDEX, PG_BLOBS_DDL],
  });
  await db.migrate('registry-2', { sqlite: [], postgres: [PG_BLOBS_STORED_AT_DDL] });
}

/**
 * A `versions` row as stored.
 *
 * @example
 * const rows = await db.query<VersionRow>('SELECT * FROM versions WHERE name = $1', ['penguins']);
 */
export interface VersionRow {
  name: string;
  version: number;
  kind: string;
  created_at: string;
  created_by: string;
  reason: string | null;
  status: string;
  lineage: string;
  metrics: string | null;
}

/**
 * An `artefacts` row as stored.
 *
 * @example
 * const rows = await db.query<ArtefactRow>('SELECT * FROM artefacts WHERE name = $1 AND version = $2', ['penguins', 1]);
 */
export interface ArtefactRow {
  name: string;
  version: number;
  path: string;
  sha256: string;
  bytes: number;
}

/**
 * An `events` row as stored.
 *
 * @example
 * const rows = await db.query<EventRow>('SELECT * FROM events WHERE name = $1 ORDER BY id', ['penguins']);
 */
export interface EventRow {
  id: number;
  name: string;
  at: string;
  by_user: string;
  action: string;
  alias: string | null;
  version: number | null;
  from_version: number | null;
  to_version: number | null;
  reason: string | null;
}
