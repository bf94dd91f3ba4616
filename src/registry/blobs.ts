/**
 * Content-addressed artefact storage: bytes are stored under their SHA-256 and written once. The SQLite
 * registry keeps them as files (`files/ab/abcdef…`, written atomically: temp + fsync + rename); the
 * PostgreSQL registry keeps them in a `blobs` table (bytea) so every server sharing the database sees them.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.ts';
import type { Db } from './db.ts';

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
}

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
    // Rewrite a blob that exists but was damaged; keep an intact one untouched.
    if (existing && existing.equals(bytes)) return;
    await writeFileAtomic(file, bytes);
  }

  async get(sha256: string): Promise<Buffer | null> {
    return fsp.readFile(this.where(sha256)).catch(() => null);
  }
}

/** DDL of the PostgreSQL blob table (run by the registry's migration). */
export const PG_BLOBS_DDL = 'CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, bytes BYTEA NOT NULL)';

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
    await this.db.exec('INSERT INTO blobs (sha256, size, bytes) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size, bytes = EXCLUDED.bytes', [sha256, bytes.byteLength, bytes]);
  }

  async get(sha256: string): Promise<Buffer | null> {
    const rows = await this.db.query<{ bytes: Buffer }>('SELECT bytes FROM blobs WHERE sha256 = $1', [sha256]);
    return rows.length ? rows[0].bytes : null;
  }
}
