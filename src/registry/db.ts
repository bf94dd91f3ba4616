/**
 * One small SQL layer over two engines: embedded SQLite (better-sqlite3, WAL mode, busy timeout) and
 * PostgreSQL (a `pg` Pool). Statements use `$1, $2, …` placeholders in both dialects; rows come back as
 * plain objects; integers are numbers (PostgreSQL `bigint` too) and binary columns are `Buffer`s.
 * Transactions ({@link Db.tx}) are retried on write conflicts so several processes can write at once.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import { SwitchyardError } from '../util/errors.ts';
import { importOptional } from '../util/optional.ts';

/** Which engine a {@link Db} talks to. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * Options for {@link Db.tx}.
 *
 * @example
 * await db.tx(async (t) => t.exec('UPDATE counters SET n = n + 1'), { retries: 3 });
 */
export interface TxOptions {
  /** How many times a conflicting transaction is re-run before its error is thrown. Default 8. */
  retries?: number;
}

/**
 * The SQL layer the registry, serving and monitoring share.
 *
 * @example
 * const db = await openDb('registry/registry.sqlite');
 * await db.migrate('notes-1', ['CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)']);
 * await db.exec('INSERT INTO notes (id, body) VALUES ($1, $2)', [1, 'hello']);
 * const rows = await db.query<{ body: string }>('SELECT body FROM notes WHERE id = $1', [1]);
 */
export interface Db {
  readonly dialect: Dialect;
  /** Runs a statement and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement and returns how many rows it changed. */
  exec(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
  /**
   * Runs `fn` in one transaction (SQLite `BEGIN IMMEDIATE`, PostgreSQL `SERIALIZABLE`): committed when it
   * returns, rolled back when it throws. On a write conflict (busy SQLite database; PostgreSQL serialization
   * failure, deadlock or unique-key race) the whole `fn` runs again, so it must only touch the database.
   * SQLite transactions are serial (`BEGIN IMMEDIATE`), so they never race on keys.
   */
  tx<T>(fn: (db: Db) => Promise<T>, opts?: TxOptions): Promise<T>;
  /**
   * Applies `statements` once per database, under the name `name` (recorded in `_migrations`). Pass
   * `{ sqlite, postgres }` when the DDL differs; in a plain list `BLOB` becomes `BYTEA` on PostgreSQL.
   */
  migrate(name: string, statements: readonly string[] | Readonly<Record<Dialect, readonly string[]>>): Promise<void>;
  close(): Promise<void>;
}

/**
 * True for a `postgres://` or `postgresql://` URL.
 *
 * @example
 * isPostgresUrl('postgres://db/models'); // true
 * isPostgresUrl('./registry');           // false
 */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * Opens a database: a PostgreSQL URL (`postgres://user@host:port/db`) or a SQLite file path (created
 * with its parent directory when missing).
 *
 * @example
 * const local = await openDb('/tmp/reg/registry.sqlite');
 * const shared = await openDb('postgres://switchyard@127.0.0.1:5432/switchyard');
 */
export async function openDb(location: string): Promise<Db> {
  if (isPostgresUrl(location)) {
    const db = new PgDb((await importOptional<{ default: typeof pg }>('pg')).default, location);
    try {
      await db.query('SELECT 1');
    } catch (err) {
      await db.close();
      throw new SwitchyardError('E_DB_CONNECT', `${redactUrl(location)}: cannot connect to PostgreSQL (${(err as Error).message})`, 'check that the server runs, and the host, port, user, password and database in the URL');
    }
    return db;
  }
  return new SqliteDb((await importOptional<{ default: typeof BetterSqlite3 }>('better-sqlite3')).default, location);
}

/**
 * The URL with any password replaced by `***`, for messages.
 *
 * @example
 * redactUrl('postgres://me:secret@db/x'); // 'postgres://me:***@db/x'
 */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

const PG_RETRY = new Set(['40001', '40P01', '23505']);

function isConflict(err: unknown): boolean {
  const e = err as { code?: string };
  return typeof e?.code === 'string' && (PG_RETRY.has(e.code) || e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_BUSY_SNAPSHOT');
}

async function backoff(attempt: number): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random())));
}

async function withRetries<T>(run: () => Promise<T>, retries: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= retries || !isConflict(err)) throw err;
      await backoff(attempt);
    }
  }
}

function statementsFor(dialect: Dialect, s: readonly string[] | Readonly<Record<Dialect, readonly string[]>>): readonly string[] {
  if (Array.isArray(s)) return dialect === 'postgres' ? (s as string[]).map((x) => x.replace(/\bBLOB\b/g, 'BYTEA')) : s;
  return (s as Record<Dialect, readonly string[]>)[dialect];
}

const MIGRATIONS_DDL = 'CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)';

/** A promise chain that lets one operation at a time use the single SQLite connection. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

function toSqliteParams(params: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  params.forEach((v, i) => {
    out[`p${i + 1}`] = typeof v === 'boolean' ? (v ? 1 : 0) : v === undefined ? null : v;
  });
  return out;
}

/** `$1` → `@p1` outside string literals (better-sqlite3 binds named parameters from an object). */
function toSqliteSql(sql: string): string {
  return sql.replace(/('(?:[^']|'')*')|\$(\d+)/g, (m, lit: string | undefined, n: string | undefined) => (lit ? m : `@p${n}`));
}

class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  private readonly conn: BetterSqlite3.Database;
  private readonly lock = new Mutex();

  constructor(Sqlite: typeof BetterSqlite3, file: string) {
    mkdirSync(dirname(file), { recursive: true });
    try {
      this.conn = new Sqlite(file, { timeout: 15_000 });
      this.conn.pragma('journal_mode = WAL');
      this.conn.pragma('synchronous = FULL');
      this.conn.pragma('foreign_keys = ON');
    } catch (err) {
      throw new SwitchyardError('E_DB_OPEN', `${file}: cannot open the SQLite database (${(err as Error).message})`, 'check the path and its permissions; the file must be a SQLite database', 1);
    }
  }

  private run(sql: string, params: readonly unknown[]): { rows?: unknown[]; changes: number } {
    const stmt = this.conn.prepare(toSqliteSql(sql));
    const bound = toSqliteParams(params);
    if (stmt.reader) return { rows: stmt.all(bound), changes: 0 };
    return { changes: stmt.run(bound).changes };
  }

  private direct(): Db {
    return {
      dialect: 'sqlite',
      query: async <T>(sql: string, params: readonly unknown[] = []) => (this.run(sql, params).rows ?? []) as T[],
      exec: async (sql: string, params: readonly unknown[] = []) => ({ changes: this.run(sql, params).changes }),
      tx: (fn) => fn(this.direct()),
      migrate: () => Promise.reject(new Error('migrate inside a transaction')),
      close: () => Promise.resolve(),
    };
  }

  query<T = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.lock.run(async () => (this.run(sql, params).rows ?? []) as T[]);
  }

  exec(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    return this.lock.run(async () => ({ changes: this.run(sql, params).changes }));
  }

  tx<T>(fn: (db: Db) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    return withRetries(
      () =>
        this.lock.run(async () => {
          this.conn.exec('BEGIN IMMEDIATE');
          try {
            const out = await fn(this.direct());
            this.conn.exec('COMMIT');
            return out;
          } catch (err) {
            if (this.conn.inTransaction) this.conn.exec('ROLLBACK');
            throw err;
          }
        }),
      opts.retries ?? 8,
    );
  }

  async migrate(name: string, statements: readonly string[] | Readonly<Record<Dialect, readonly string[]>>): Promise<void> {
    await this.tx(async (db) => {
      await db.exec(MIGRATIONS_DDL);
      if ((await db.query('SELECT name FROM _migrations WHERE name = $1', [name])).length) return;
      for (const s of statementsFor('sqlite', statements)) await db.exec(s);
      await db.exec('INSERT INTO _migrations (name, applied_at) VALUES ($1, $2)', [name, new Date().toISOString()]);
    });
  }

  async close(): Promise<void> {
    await this.lock.run(async () => this.conn.close());
  }
}

class PgDb implements Db {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(pg: typeof import('pg').default, url: string) {
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')),
    };
    this.pool = new pg.Pool({ connectionString: url, max: 8, types: types as pg.CustomTypesConfig });
    this.pool.on('error', () => undefined); // an idle client lost its server; the next query reports it
  }

  private static on(client: pg.Pool | pg.PoolClient): Db {
    const query = async <T>(sql: string, params: readonly unknown[] = []) => (await client.query(sql, params as unknown[])).rows as T[];
    return {
      dialect: 'postgres',
      query,
      exec: async (sql: string, params: readonly unknown[] = []) => ({ changes: (await client.query(sql, params as unknown[])).rowCount ?? 0 }),
      tx: (fn) => fn(PgDb.on(client)),
      migrate: () => Promise.reject(new Error('migrate inside a transaction')),
      close: () => Promise.resolve(),
    };
  }

  query<T = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return PgDb.on(this.pool).query<T>(sql, params);
  }

  exec(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    return PgDb.on(this.pool).exec(sql, params);
  }

  private async once<T>(fn: (db: Db) => Promise<T>, begin: string): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(begin);
      try {
        const out = await fn(PgDb.on(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }

  tx<T>(fn: (db: Db) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    return withRetries(() => this.once(fn, 'BEGIN ISOLATION LEVEL SERIALIZABLE'), opts.retries ?? 8);
  }

  async migrate(name: string, statements: readonly string[] | Readonly<Record<Dialect, readonly string[]>>): Promise<void> {
    // READ COMMITTED: after waiting for the lock, the next statements see what the previous migrator committed.
    await withRetries(
      () =>
        this.once(async (db) => {
          await db.query("SELECT pg_advisory_xact_lock(hashtext('switchyard._migrations'))");
          await db.exec(MIGRATIONS_DDL);
          if ((await db.query('SELECT name FROM _migrations WHERE name = $1', [name])).length) return;
          for (const s of statementsFor('postgres', statements)) await db.exec(s);
          await db.exec('INSERT INTO _migrations (name, applied_at) VALUES ($1, $2)', [name, new Date().toISOString()]);
        }, 'BEGIN ISOLATION LEVEL READ COMMITTED'),
      8,
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
