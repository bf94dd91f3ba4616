/**
 * The model registry: immutable, numbered versions of named models with lineage and SHA-256-verified
 * artefacts; aliases (`production`, `staging`, `canary`, any name) that point at versions; promote,
 * roll back and archive, each recorded with who, when and why.
 *
 * Storage: a directory (`registry.sqlite` + content-addressed `files/`) or a PostgreSQL URL (tables plus
 * artefact bytes in a `blobs` table, materialised into a local cache). A version becomes visible in one
 * transaction after all its bytes are stored, so a crash never leaves a half version.
 *
 * Test hook: `SWITCHYARD_REGISTRY_PAUSE=<point>` stops `register` or `materialize` at a named point so a test
 * can kill the process there (see `pause.ts` for the points).
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { didYouMean, listNames } from '../data/values.ts';
import { SwitchyardError } from '../util/errors.ts';
import { sha256Bytes } from '../util/fs.ts';
import { type BlobStore, DbBlobStore, FileBlobStore, SHA256_NAME } from './blobs.ts';
import { type Db, isPostgresUrl, openDb, redactUrl } from './db.ts';
import { checkAliasName, checkModelName, parseRef } from './names.ts';
import { pausePoint } from './pause.ts';
import { type ArtefactRow, type EventRow, migrateRegistry, type VersionRow } from './schema.ts';
import { loadableRunFiles, readSource } from './source.ts';
import { collectGarbage, type GcOptions, type GcResult } from './gc.ts';
import { ownedDir, privateVersionDir, replaceVersionDir, type VersionFile } from './version-dir.ts';

/**
 * One immutable version of a model.
 *
 * @example
 * const v: ModelVersion = await reg.resolve('penguins@production');
 * v.artefacts.find((a) => a.path === 'model.onnx')?.sha256;
 */
export interface ModelVersion {
  name: string;
  version: number;
  kind: 'tabular' | 'lm' | 'onnx';
  createdAt: string;
  createdBy: string;
  reason?: string;
  status: 'active' | 'archived';
  /** Source, data fingerprints, config, ONNX signature, code version, report links. */
  lineage: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  artefacts: { path: string; sha256: string; bytes: number }[];
}

/**
 * One entry of a model's history. `version` is set for register/archive, `from`/`to` for alias moves.
 *
 * @example
 * (await reg.history('penguins')).at(-1); // { at: '2026-…', by: 'alice', action: 'rollback', alias: 'production', from: 3, to: 2, reason: 'errors up' }
 */
export interface HistoryEntry {
  at: string;
  by: string;
  action: 'register' | 'alias' | 'rollback' | 'archive' | string;
  alias?: string;
  version?: number;
  from?: number;
  to?: number;
  reason?: string;
}

/**
 * Who and why, for every change. `by` defaults to `$USER`.
 *
 * @example
 * await reg.setAlias('penguins', 'production', 3, { by: 'alice', reason: 'beats v2 on the eval set' });
 */
export interface ChangeOptions {
  by?: string;
  reason?: string;
}

/**
 * Options of {@link openRegistry}.
 *
 * @example
 * const reg = await openRegistry(process.env.DATABASE_URL!, { cacheDir: '/var/cache/switchyard' });
 */
export interface RegistryOptions {
  /**
   * Where {@link Registry.materialize} writes version directories. Default: `<dir>/materialized` for a
   * directory registry; `$SWITCHYARD_REGISTRY_CACHE` or `<tmp>/switchyard-registry-<uid>-<url hash>` for PostgreSQL.
   * It must belong to this user and not be writable by everyone (`E_REGISTRY_CACHE` otherwise).
   */
  cacheDir?: string;
}

/**
 * A page of a model's versions or history, newest first: `limit` rows after the newest `offset` (what the
 * dashboard shows of a model with thousands of versions, read without loading the rest).
 *
 * @example
 * const newest = await reg.list('penguins', { offset: 0, limit: 50 });
 */
export interface RegistryPage {
  offset: number;
  limit: number;
}

/**
 * The registry API (see {@link openRegistry}).
 *
 * @example
 * const reg = await openRegistry('registry');
 * const v = await reg.register({ name: 'penguins', from: 'runs/penguins', reason: 'first model' });
 * await reg.setAlias('penguins', 'production', v.version);
 * const dir = await reg.materialize(await reg.resolve('penguins@production')); // dir/model.onnx, verified
 */
export interface Registry {
  /** The directory or (password-redacted) URL this registry lives at. */
  readonly location: string;
  /** The SQL layer; monitoring tables live in the same database. */
  readonly db: Db;
  register(o: { name: string; from: string; by?: string; reason?: string; links?: Record<string, string> }): Promise<ModelVersion>;
  setAlias(name: string, alias: string, version: number, o?: ChangeOptions): Promise<void>;
  rollback(name: string, alias: string, o?: ChangeOptions): Promise<{ from: number; to: number }>;
  resolve(ref: string): Promise<ModelVersion>;
  /**
   * Writes a version's artefacts, each checked against its registered SHA-256, into a freshly created
   * directory and returns it: `<cacheDir>/NAME/VERSION` (replaced as a whole, never reused), or with
   * `private` a new directory no other call shares, which the caller removes when done.
   */
  materialize(v: ModelVersion, o?: MaterializeOptions): Promise<string>;
  aliases(name: string): Promise<Record<string, number>>;
  /** Every version (of model `name`), oldest first; with `page`, that page of them, newest first. */
  list(name?: string, page?: RegistryPage): Promise<ModelVersion[]>;
  /** The model's history, oldest first; with `page`, that page of it, newest first. */
  history(name: string, page?: RegistryPage): Promise<HistoryEntry[]>;
  /** The registered model names, sorted. */
  models(): Promise<string[]>;
  /** How many versions and history entries model `name` has, and its newest version number. */
  counts(name: string): Promise<{ versions: number; history: number; latest: number }>;
  archive(name: string, version: number, o?: ChangeOptions): Promise<void>;
  /** Deletes stored artefact bytes no version refers to (see {@link GcOptions}). */
  gc(o?: GcOptions): Promise<GcResult>;
  close(): Promise<void>;
}

/**
 * Options of {@link Registry.materialize}.
 *
 * @example
 * const dir = await reg.materialize(v, { private: true }); // load from dir, then remove it
 */
export interface MaterializeOptions {
  /**
   * A new directory of this call's own (under the cache's `.private/`) instead of the shared
   * `<cacheDir>/NAME/VERSION`, which another process may replace at any time. The caller removes it.
   */
  private?: boolean;
}

export type { GcOptions, GcResult } from './gc.ts';

/**
 * Opens (creating when needed) a registry: a directory path, or a `postgres://` URL shared by several servers.
 *
 * @example
 * const local = await openRegistry('./registry');
 * const shared = await openRegistry('postgres://switchyard@db:5432/models', { cacheDir: '/var/cache/switchyard' });
 */
export async function openRegistry(location: string, opts: RegistryOptions = {}): Promise<Registry> {
  if (isPostgresUrl(location)) {
    const db = await openDb(location);
    const label = redactUrl(location);
    await migrateRegistry(db).catch(async (err) => (await db.close(), Promise.reject(err)));
    // One directory per user directly in the (sticky) temp directory: no other user can rename anything in it.
    const urlHash = createHash('sha256').update(location).digest('hex').slice(0, 16);
    const own = join(tmpdir(), `switchyard-registry-${process.getuid?.() ?? userInfo().username}-${urlHash}`);
    const cache = opts.cacheDir ?? process.env.SWITCHYARD_REGISTRY_CACHE ?? own;
    return new SqlRegistry(label, db, new DbBlobStore(db, label), cache);
  }
  const dir = resolvePath(location);
  const st = (() => {
    try {
      return statSync(dir);
    } catch {
      return undefined;
    }
  })();
  if (st && !st.isDirectory()) throw new SwitchyardError('E_REGISTRY_LOCATION', `${location}: is a file, not a registry directory`, 'pass a directory (created when missing) or a postgres:// URL');
  const db = await openDb(join(dir, 'registry.sqlite'));
  await migrateRegistry(db).catch(async (err) => (await db.close(), Promise.reject(err)));
  return new SqlRegistry(dir, db, new FileBlobStore(join(dir, 'files')), opts.cacheDir ?? join(dir, 'materialized'));
}

/**
 * The user recorded when `by` is not given: `$USER`, else the OS account name.
 *
 * @example
 * defaultUser(); // 'alice'
 */
export function defaultUser(): string {
  if (process.env.USER) return process.env.USER;
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A JSON object column of a version row; a row edited by hand into something else is a clear error, not a trace. */
function jsonColumn(r: VersionRow, column: 'lineage' | 'metrics', text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    /* reported below */
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  const what = `${r.name}@${r.version}: the registry's ${column} column is not a JSON object (edited outside switchyard?)`;
  throw new SwitchyardError('E_REGISTRY_TAMPERED', what, 'restore the registry database from a backup, or register the run again');
}

function toVersion(r: VersionRow, arts: ArtefactRow[]): ModelVersion {
  const v: ModelVersion = {
    name: r.name, version: r.version, kind: r.kind as ModelVersion['kind'], createdAt: r.created_at, createdBy: r.created_by,
    status: r.status as ModelVersion['status'], lineage: jsonColumn(r, 'lineage', r.lineage),
    artefacts: arts.map((a) => ({ path: a.path, sha256: a.sha256, bytes: a.bytes })),
  };
  if (r.reason !== null) v.reason = r.reason;
  if (r.metrics !== null) v.metrics = jsonColumn(r, 'metrics', r.metrics);
  return v;
}

class SqlRegistry implements Registry {
  constructor(
    readonly location: string,
    readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly cacheDir: string,
  ) {}

  async register(o: { name: string; from: string; by?: string; reason?: string; links?: Record<string, string> }): Promise<ModelVersion> {
    checkModelName(o.name);
    const src = await readSource(o.from, o.links);
    for (const a of src.artefacts) await this.blobs.put(a.sha256, a.bytes);
    await pausePoint('after-files');
    const by = o.by ?? defaultUser();
    const version = await this.db.tx(async (t) => {
      const at = new Date().toISOString();
      await t.exec('INSERT INTO models (name, created_at, created_by) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [o.name, at, by]);
      const [{ v }] = await t.query<{ v: number }>('SELECT COALESCE(MAX(version), 0) + 1 AS v FROM versions WHERE name = $1', [o.name]);
      await t.exec(
        'INSERT INTO versions (name, version, kind, created_at, created_by, reason, status, lineage, metrics) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        [o.name, v, src.kind, at, by, o.reason ?? null, 'active', JSON.stringify(src.lineage), src.metrics ? JSON.stringify(src.metrics) : null],
      );
      for (const a of src.artefacts) {
        await t.exec('INSERT INTO artefacts (name, version, path, sha256, bytes) VALUES ($1, $2, $3, $4, $5)', [o.name, v, a.path, a.sha256, a.bytes.byteLength]);
      }
      await this.event(t, o.name, 'register', { version: v }, { by, reason: o.reason });
      await pausePoint('in-transaction');
      return v;
    });
    return this.load(this.db, o.name, version);
  }

  private async event(t: Db, name: string, action: string, e: { alias?: string; version?: number; from?: number; to?: number }, o: ChangeOptions): Promise<void> {
    await t.exec(
      'INSERT INTO events (name, at, by_user, action, alias, version, from_version, to_version, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [name, new Date().toISOString(), o.by ?? defaultUser(), action, e.alias ?? null, e.version ?? null, e.from ?? null, e.to ?? null, o.reason ?? null],
    );
  }

  private async requireModel(t: Db, name: string): Promise<void> {
    checkModelName(name);
    if ((await t.query('SELECT name FROM models WHERE name = $1', [name])).length) return;
    const names = (await t.query<{ name: string }>('SELECT name FROM models ORDER BY name')).map((r) => r.name);
    const guess = didYouMean(name, names);
    throw new SwitchyardError(
      'E_REGISTRY_UNKNOWN_MODEL',
      `${this.location}: no model named '${name}'`,
      guess ? `did you mean '${guess}'?` : names.length ? `models: ${listNames(names)}` : 'the registry is empty; add a model with switchyard registry register --name NAME --from RUN_DIR',
    );
  }

  private async load(t: Db, name: string, version: number): Promise<ModelVersion> {
    const rows = await t.query<VersionRow>('SELECT * FROM versions WHERE name = $1 AND version = $2', [name, version]);
    if (!rows.length) {
      await this.requireModel(t, name);
      const have = (await t.query<{ version: number }>('SELECT version FROM versions WHERE name = $1 ORDER BY version', [name])).map((r) => String(r.version));
      throw new SwitchyardError('E_REGISTRY_UNKNOWN_VERSION', `${name}: no version ${version}`, have.length ? `versions: ${listNames(have)}` : 'register one first');
    }
    const arts = await t.query<ArtefactRow>('SELECT * FROM artefacts WHERE name = $1 AND version = $2 ORDER BY path', [name, version]);
    return toVersion(rows[0], arts);
  }

  async resolve(ref: string): Promise<ModelVersion> {
    const r = parseRef(ref);
    await this.requireModel(this.db, r.name);
    if ('version' in r) return this.load(this.db, r.name, r.version);
    if ('alias' in r) {
      const rows = await this.db.query<{ version: number }>('SELECT version FROM aliases WHERE name = $1 AND alias = $2', [r.name, r.alias]);
      if (!rows.length) {
        const have = Object.keys(await this.aliases(r.name));
        const guess = didYouMean(r.alias, have);
        throw new SwitchyardError('E_REGISTRY_UNKNOWN_ALIAS', `${r.name}: no alias '${r.alias}'`, guess ? `did you mean '${r.name}@${guess}'?` : have.length ? `aliases: ${listNames(have)}` : `set one with switchyard registry alias ${r.name} ${r.alias} VERSION`);
      }
      return this.load(this.db, r.name, rows[0].version);
    }
    const rows = await this.db.query<{ v: number | null }>("SELECT MAX(version) AS v FROM versions WHERE name = $1 AND status = 'active'", [r.name]);
    if (rows[0]?.v == null) throw new SwitchyardError('E_REGISTRY_UNKNOWN_VERSION', `${r.name}: every version is archived`, `name a version explicitly, e.g. ${r.name}@1, or register a new one`);
    return this.load(this.db, r.name, rows[0].v);
  }

  async materialize(v: ModelVersion, o: MaterializeOptions = {}): Promise<string> {
    const fresh = await this.load(this.db, v.name, v.version); // the database, not the caller's copy, is the truth
    let files: VersionFile[] = [];
    for (const a of fresh.artefacts) files.push({ ...a, bytes: await this.verifiedBytes(fresh, a) });
    // Every byte is checked before anything is written, and written into a directory made for this call:
    // nothing a previous materialization left (or someone planted) in the cache is ever read.
    files = loadableRunFiles(files, `${fresh.name}@${fresh.version}`);
    if (o.private) return privateVersionDir(files, this.cacheDir, `${fresh.name}@${fresh.version}`);
    await ownedDir(this.cacheDir);
    const dir = join(this.cacheDir, fresh.name, String(fresh.version));
    await replaceVersionDir(files, dir);
    return dir;
  }

  private async verifiedBytes(v: ModelVersion, a: ModelVersion['artefacts'][number]): Promise<Buffer> {
    const what = `${v.name}@${v.version}: artefact ${a.path}`;
    const byHand = 'the registry database was modified by hand; restore it from a backup';
    if (a.path.split('/').some((x) => x === '' || x === '.' || x === '..' || x.includes('\\'))) {
      throw new SwitchyardError('E_REGISTRY_TAMPERED', `${what}: the path points outside the version directory`, byHand, 1);
    }
    // The hash names the stored blob (a file of the directory store): a hand-edited one must not name any other.
    if (!SHA256_NAME.test(a.sha256)) throw new SwitchyardError('E_REGISTRY_TAMPERED', `${what}: '${a.sha256}' is not a SHA-256`, byHand, 1);
    const where = this.blobs.where(a.sha256);
    const bytes = await this.blobs.get(a.sha256);
    if (!bytes) {
      const hint = 'the registry storage was damaged; restore it from a backup or register the model again';
      throw new SwitchyardError('E_REGISTRY_MISSING', `${what} is missing from the store (${where})`, hint, 1);
    }
    const got = sha256Bytes(bytes);
    if (got !== a.sha256) {
      const hint = 'the stored artefact was modified after registration; do not serve it — restore it from a backup or register the model again';
      throw new SwitchyardError('E_REGISTRY_TAMPERED', `${what}: stored bytes have sha256 ${got}, registered ${a.sha256} (${where})`, hint);
    }
    if (bytes.byteLength !== a.bytes) {
      throw new SwitchyardError('E_REGISTRY_TAMPERED', `${what}: ${bytes.byteLength} bytes stored, ${a.bytes} registered`, byHand, 1);
    }
    return bytes;
  }

  async aliases(name: string): Promise<Record<string, number>> {
    await this.requireModel(this.db, name);
    const rows = await this.db.query<{ alias: string; version: number }>('SELECT alias, version FROM aliases WHERE name = $1 ORDER BY alias', [name]);
    return Object.fromEntries(rows.map((r) => [r.alias, r.version]));
  }

  async list(name?: string, page?: RegistryPage): Promise<ModelVersion[]> {
    if (name !== undefined) await this.requireModel(this.db, name);
    const where = name === undefined ? '' : ' WHERE name = $1';
    const params: unknown[] = name === undefined ? [] : [name];
    const n = params.length;
    const order = page ? ` ORDER BY name, version DESC LIMIT $${n + 1} OFFSET $${n + 2}` : ' ORDER BY name, version';
    const rows = await this.db.query<VersionRow>(`SELECT * FROM versions${where}${order}`, page ? [...params, page.limit, page.offset] : params);
    if (page && !rows.length) return [];
    // A model's page reads the artefacts of its range of versions only (the rows are consecutive versions).
    const range = page && name !== undefined ? ' AND version BETWEEN $2 AND $3' : '';
    const artParams = range ? [name, rows.at(-1)!.version, rows[0].version] : params;
    const arts = await this.db.query<ArtefactRow>(`SELECT * FROM artefacts${where}${range} ORDER BY name, version, path`, artParams);
    const by = new Map<string, ArtefactRow[]>();
    for (const a of arts) by.set(`${a.name}@${a.version}`, [...(by.get(`${a.name}@${a.version}`) ?? []), a]);
    return rows.map((r) => toVersion(r, by.get(`${r.name}@${r.version}`) ?? []));
  }

  async models(): Promise<string[]> {
    return (await this.db.query<{ name: string }>('SELECT name FROM models ORDER BY name')).map((r) => r.name);
  }

  async counts(name: string): Promise<{ versions: number; history: number; latest: number }> {
    await this.requireModel(this.db, name);
    const [v] = await this.db.query<{ n: number; latest: number | null }>('SELECT COUNT(*) AS n, MAX(version) AS latest FROM versions WHERE name = $1', [name]);
    const [h] = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE name = $1', [name]);
    return { versions: Number(v.n), history: Number(h.n), latest: Number(v.latest ?? 0) };
  }

  async history(name: string, page?: RegistryPage): Promise<HistoryEntry[]> {
    await this.requireModel(this.db, name);
    const sql = `SELECT * FROM events WHERE name = $1 ORDER BY id${page ? ' DESC LIMIT $2 OFFSET $3' : ''}`;
    const rows = await this.db.query<EventRow>(sql, page ? [name, page.limit, page.offset] : [name]);
    return rows.map((r) => {
      const e: HistoryEntry = { at: r.at, by: r.by_user, action: r.action };
      if (r.alias !== null) e.alias = r.alias;
      if (r.version !== null) e.version = r.version;
      if (r.from_version !== null) e.from = r.from_version;
      if (r.to_version !== null) e.to = r.to_version;
      if (r.reason !== null) e.reason = r.reason;
      return e;
    });
  }

  private async activeVersion(t: Db, name: string, version: number, use: string): Promise<void> {
    const v = await this.load(t, name, version);
    if (v.status === 'archived') throw new SwitchyardError('E_REGISTRY_ARCHIVED', `${name}@${version} is archived and cannot be ${use}`, 'pick an active version (switchyard registry list NAME)');
  }

  async setAlias(name: string, alias: string, version: number, o: ChangeOptions = {}): Promise<void> {
    checkAliasName(alias);
    await this.db.tx(async (t) => {
      await this.requireModel(t, name);
      await this.activeVersion(t, name, version, `the target of alias '${alias}'`);
      const cur = await t.query<{ version: number }>('SELECT version FROM aliases WHERE name = $1 AND alias = $2', [name, alias]);
      if (cur.length && cur[0].version === version) return;
      await this.moveAlias(t, name, alias, version, o);
      await this.event(t, name, 'alias', { alias, from: cur[0]?.version, to: version }, o);
    });
  }

  private async moveAlias(t: Db, name: string, alias: string, version: number, o: ChangeOptions): Promise<void> {
    await t.exec(
      'INSERT INTO aliases (name, alias, version, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by',
      [name, alias, version, new Date().toISOString(), o.by ?? defaultUser()],
    );
  }

  async rollback(name: string, alias: string, o: ChangeOptions = {}): Promise<{ from: number; to: number }> {
    checkAliasName(alias);
    return this.db.tx(async (t) => {
      await this.requireModel(t, name);
      const cur = await t.query<{ version: number }>('SELECT version FROM aliases WHERE name = $1 AND alias = $2', [name, alias]);
      if (!cur.length) {
        const have = (await t.query<{ alias: string }>('SELECT alias FROM aliases WHERE name = $1 ORDER BY alias', [name])).map((r) => r.alias);
        const guess = didYouMean(alias, have);
        throw new SwitchyardError('E_REGISTRY_UNKNOWN_ALIAS', `${name}: no alias '${alias}' to roll back`, guess ? `did you mean '${guess}'?` : have.length ? `aliases: ${listNames(have)}` : 'nothing to roll back');
      }
      // Replay the alias's moves as a stack: promote pushes, rollback pops; the target is the entry below the top.
      const moves = await t.query<EventRow>("SELECT * FROM events WHERE name = $1 AND alias = $2 AND action IN ('alias', 'rollback') ORDER BY id", [name, alias]);
      const stack: number[] = [];
      for (const m of moves) {
        if (m.action === 'alias') stack.push(m.to_version as number);
        else stack.pop();
      }
      const from = cur[0].version;
      const to = stack.length >= 2 ? stack[stack.length - 2] : undefined;
      if (to === undefined) throw new SwitchyardError('E_REGISTRY_NO_PREVIOUS', `${name}@${alias}: no earlier version to roll back to (it points at ${from}, its first target)`, `point it elsewhere with switchyard registry alias ${name} ${alias} VERSION`);
      await this.activeVersion(t, name, to, `the rollback target of '${alias}'`);
      await this.moveAlias(t, name, alias, to, o);
      await this.event(t, name, 'rollback', { alias, from, to }, o);
      return { from, to };
    });
  }

  async archive(name: string, version: number, o: ChangeOptions = {}): Promise<void> {
    await this.db.tx(async (t) => {
      await this.requireModel(t, name);
      await this.activeVersion(t, name, version, 'archived again');
      const pointing = (await t.query<{ alias: string }>('SELECT alias FROM aliases WHERE name = $1 AND version = $2 ORDER BY alias', [name, version])).map((r) => r.alias);
      if (pointing.length) throw new SwitchyardError('E_REGISTRY_ALIASED', `${name}@${version} is the target of ${pointing.map((a) => `'${a}'`).join(', ')} and cannot be archived`, 'move those aliases to another version first');
      await t.exec("UPDATE versions SET status = 'archived' WHERE name = $1 AND version = $2", [name, version]);
      await this.event(t, name, 'archive', { version }, o);
    });
  }

  async gc(o: GcOptions = {}): Promise<GcResult> {
    return collectGarbage(this.db, this.blobs, this.cacheDir, o);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
