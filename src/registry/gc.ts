/**
 * Garbage collection of a registry's storage: blobs no version refers to, temp files of killed blob writes, and
 * directories of killed materializations in the cache. Anything younger than the minimum age is spared, since
 * it may belong to a register or materialize still in progress.
 */
import { promises as fsp } from 'node:fs';
import { SwitchyardError } from '../util/errors.ts';
import type { BlobStore } from './blobs.ts';
import type { Db } from './db.ts';
import { cacheLeftovers } from './version-dir.ts';

/** Options of {@link Registry.gc}. */
export interface GcOptions {
  /**
   * Spare blobs stored, and temp files written, less than this many ms ago (default one hour): `register` stores
   * a version's bytes before the transaction that records it, so a young unreferenced blob or temp file may
   * belong to a registration (or a materialization) in progress.
   */
  minAgeMs?: number;
  /** Report what would be deleted, delete nothing. */
  dryRun?: boolean;
}

/** What {@link Registry.gc} found and did. */
export interface GcResult {
  /** Blobs examined. */
  scanned: number;
  /** Blobs some version refers to (kept). */
  referenced: number;
  /** Unreferenced blobs and temp files younger than the minimum age (kept). */
  young: number;
  /** Unreferenced blobs deleted (or, with dryRun, that would be). */
  removed: { sha256: string; bytes: number }[];
  /**
   * Temp files of killed writes in the blob store and directories of killed materializations in the cache,
   * deleted (or, with dryRun, that would be); `bytes` is 0 for a directory.
   */
  temporary: { path: string; bytes: number }[];
  /** Sum of the removed blobs' and temp files' sizes. */
  freedBytes: number;
}

/**
 * Deletes what {@link GcOptions} allows (see {@link Registry.gc}, which calls it) and says what it found.
 *
 * @param db the registry's database (which blobs are referenced)
 * @param blobs the registry's blob store
 * @param cacheDir the registry's materialization cache
 * @param o minimum age and dry run
 * @example
 * const r = await collectGarbage(db, blobs, '/var/cache/switchyard', { minAgeMs: 0, dryRun: true });
 */
export async function collectGarbage(db: Db, blobs: BlobStore, cacheDir: string, o: GcOptions = {}): Promise<GcResult> {
  const minAge = o.minAgeMs ?? 3_600_000;
  if (!(minAge >= 0)) throw new SwitchyardError('E_USAGE', `gc minimum age must be >= 0 ms, got ${minAge}`, 'e.g. --min-age 1h');
  const referenced = new Set((await db.query<{ sha256: string }>('SELECT DISTINCT sha256 FROM artefacts')).map((r) => r.sha256));
  const now = Date.now();
  const r: GcResult = { scanned: 0, referenced: 0, young: 0, removed: [], temporary: [], freedBytes: 0 };
  for (const b of await blobs.list()) {
    r.scanned++;
    if (referenced.has(b.sha256)) r.referenced++;
    else if (now - b.storedAt < minAge) r.young++;
    // Looked up again just before deleting: a version registered since the scan may refer to it now.
    else if (!o.dryRun && (await db.query('SELECT 1 FROM artefacts WHERE sha256 = $1 LIMIT 1', [b.sha256])).length) r.referenced++;
    else {
      if (!o.dryRun) await blobs.remove(b.sha256);
      r.removed.push({ sha256: b.sha256, bytes: b.bytes });
      r.freedBytes += b.bytes;
    }
  }
  // Temp files and directories of killed writes: young ones may belong to a write still in progress.
  const dirs = (await cacheLeftovers(cacheDir)).map((d) => ({ ...d, bytes: 0 }));
  const leftovers = [...(await blobs.temporaries()), ...dirs];
  for (const t of leftovers) {
    if (now - t.modifiedAt < minAge) r.young++;
    else {
      if (!o.dryRun) await fsp.rm(t.path, { recursive: true, force: true });
      r.temporary.push({ path: t.path, bytes: t.bytes });
      r.freedBytes += t.bytes;
    }
  }
  return r;
}
