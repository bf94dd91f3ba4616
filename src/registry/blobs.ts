/**
 * Content-addressed artefact storage: bytes are stored under their SHA-256 and written once. The SQLite
 * registry keeps them as files (`files/ab/abcdef…`, written atomically: temp + fsync + rename); the
 * PostgreSQL registry keeps them in a `blobs` table (bytea) so every server sharing the database sees them.
 * A process killed while writing a file leaves a temp file, never a wrong blob; `registry gc` removes it.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, type Stats } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.ts';
import type { Db } from './db.ts';
import { pausePoint } from './pause.ts';

/**
 * Where artefact bytes live.
 *
 * @example
 * const store = new FileBlobStore('registry/files');
 * await store.put(sha, bytes);
 * const back = await store.get(sha); // Buffer, or null when missing
 */
export interface BlobStore {
  /** Stores `bytes` under `sha256` (their hash, computed by the caller). Idempotent. */
  put(sha256: string, bytes: Buffer): Promise<void>;
  /** The stored bytes, or `null` when nothing is stored under `sha256`. Not verified: the caller hashes them. */
  get(sha256: string): Promise<Buffer | null>;
  /** Human-readable location of a blob, for error messages. */
  where(sha256: string): string;
  /** Every stored blob: its hash, size and when it was last stored (ms since the epoch). */
  list(): Promise<StoredBlob[]>;
  /** Deletes a blob; no error when it is already gone. */
  remove(sha256: string): Promise<void>;
  /** Temp files of writes that never finished (a killed `register`); none for a database store. */
  temporaries(): Promise<TempFile[]>;
}

/** One entry of {@link BlobStore.temporaries}. */
export interface TempFile {
  path: string;
  bytes: number;
  /** Last written, ms since the epoch: a write in progress keeps it recent. */
  modifiedAt: number;
}

/** One entry of {@link BlobStore.list}. */
export interface StoredBlob {
  sha256: string;
  bytes: number;
  /** When the blob was last stored (a `put` of existing bytes refreshes it), ms since the epoch. */
  storedAt: number;
}

/** A lower-case hex SHA-256: the only names a blob may have. */
export const SHA256_NAME = /^[0-9a-f]{64}$/;

/**
 * Blobs as files under a directory, two-level fan-out by hash prefix.
 *
 * @example
 * const store = new FileBlobStore('/srv/registry/files');
 * store.where('ab12…'); // '/srv/registry/files/ab/ab12…'
 */
export class FileBlobStore implements BlobStore {
  constructor(readonly dir: string) {}

  where(sha256: string): string {
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  async put(sha256: string, bytes: Buffer): Promise<void> {
    const file = this.where(sha256);
    const existing = await fsp.readFile(file).catch(() => null);
    // Rewrite a blob that exists but was damaged; keep an intact one, but mark it as stored now, so that a
    // concurrent `gc` does not take it away from the version being registered.
    if (existing && existing.equals(bytes)) {
      const now = new Date();
      await fsp.utimes(file, now, now);
      return;
    }
    // Staged complete under a temp name, then published by a rename: a kill at any point leaves the blob
    // absent or whole, plus at most a temp file for gc.
    const staged = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    await writeFileAtomic(staged, bytes);
    try {
      await pausePoint('blob-staged');
      await fsp.rename(staged, file);
    } catch (err) {
      await fsp.rm(staged, { force: true });
      throw err;
    }
  }

  async get(sha256: string): Promise<Buffer | null> {
    return fsp.readFile(this.where(sha256)).catch(() => null);
  }

  /** Every regular file in the fan-out directories: blobs, and temp files of unfinished writes. */
  private async entries(): Promise<{ name: string; path: string; st: Stats }[]> {
    const out: { name: string; path: string; st: Stats }[] = [];
    for (const fan of await fsp.readdir(this.dir).catch(() => [] as string[])) {
      for (const name of await fsp.readdir(join(this.dir, fan)).catch(() => [] as string[])) {
        const st = await fsp.lstat(join(this.dir, fan, name)).catch(() => null);
        if (st?.isFile()) out.push({ name, path: join(this.dir, fan, name), st });
      }
    }
    return out;
  }

  async list(): Promise<StoredBlob[]> {
    const blobs = (await this.entries()).filter((e) => SHA256_NAME.test(e.name));
    return blobs.map((e) => ({ sha256: e.name, bytes: e.st.size, storedAt: e.st.mtimeMs }));
  }

  async temporaries(): Promise<TempFile[]> {
    const temps = (await this.entries()).filter((e) => !SHA256_NAME.test(e.name));
    return temps.map((e) => ({ path: e.path, bytes: e.st.size, modifiedAt: e.st.mtimeMs }));
  }

  async remove(sha256: string): Promise<void> {
    await fsp.rm(this.where(sha256), { force: true });
  }
}

/** DDL of the PostgreSQL blob table (run by the registry's migration). */
export const PG_BLOBS_DDL = 'CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, bytes BYTEA NOT NULL)';
/** Second migration: when each blob was last stored, so `gc` can spare blobs of a registration in progress. */
export const PG_BLOBS_STORED_AT_DDL = 'ALTER TABLE blobs ADD COLUMN stored_at TIMESTAMPTZ NOT NULL DEFAULT now()';

/**
 * Blobs as rows of a `blobs (sha256, size, bytes)` table.
 *
 * @example
 * const store = new DbBlobStore(db, 'postgres://…/switchyard');
 */
export class DbBlobStore implements BlobStore {
  constructor(
    private readonly db: Db,
    private readonly label: string,
  ) {}

  where(sha256: string): string {
    return `${this.label} table blobs, sha256 ${sha256}`;
  }

  async put(sha256: string, bytes: Buffer): Promise<void> {
    // Upsert: a concurrent writer of the same content is harmless, and a damaged row is repaired.
    await this.db.exec('INSERT INTO blobs (sha256, size, bytes) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size, bytes = EXCLUDED.bytes, stored_at = now()', [sha256, bytes.byteLength, bytes]);
  }

  async get(sha256: string): Promise<Buffer | null> {
    const rows = await this.db.query<{ bytes: Buffer }>('SELECT bytes FROM blobs WHERE sha256 = $1', [sha256]);
    return rows.length ? rows[0].bytes : null;
  }

  async list(): Promise<StoredBlob[]> {
    const rows = await this.db.query<{ sha256: string; size: string | number; at: string | number }>('SELECT sha256, size, EXTRACT(EPOCH FROM stored_at) * 1000 AS at FROM blobs');
    return rows.map((r) => ({ sha256: r.sha256, bytes: Number(r.size), storedAt: Number(r.at) }));
  }

  async remove(sha256: string): Promise<void> {
    await this.db.exec('DELETE FROM blobs WHERE sha256 = $1', [sha256]);
  }

  async temporaries(): Promise<TempFile[]> {
    return []; // an INSERT cut off by a kill is rolled back by the server: nothing to clean up
  }
}
