/**
 * A model version's files on disk, written so that nothing found there before is ever used: every
 * materialization writes the verified bytes into a directory created for it (`mkdtemp`), and a shared
 * destination is replaced by renaming that directory in. Nothing is read back from a previous
 * materialization, so a file planted in the cache, or left by an older version, cannot be served.
 * A process killed half-way leaves `*.tmp-*` / `*.old-*` directories (or a private directory) that
 * `registry gc` removes once they are older than its minimum age.
 */
import { lstat, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SwitchyardError } from '../util/errors.ts';
import { commitDirAtomic, writeFileAtomic } from '../util/fs.ts';
import { pausePoint } from './pause.ts';

/** One verified file of a version: its `/`-separated path inside the version, its bytes and their SHA-256. */
export interface VersionFile {
  path: string;
  bytes: Uint8Array;
  sha256: string;
}

/** Where {@link privateVersionDir} creates directories, under a registry's cache directory. */
const PRIVATE = '.private';
/** Names `mkdtemp` and `commitDirAtomic` give the directories of a materialization in progress. */
const LEFTOVER = /\.(tmp|old)-\d+-/;

/**
 * Creates `dir` (and its parents) when missing and checks that no other user can swap what is written in it:
 * it must be a real directory owned by this user (or root) and not writable by everyone, unless sticky (/tmp).
 * Whoever can write a directory can rename a freshly verified directory inside it and put their own in its place.
 *
 * @param dir a cache directory, or a directory below it that materializations write into
 * @example
 * await ownedDir('/var/cache/switchyard'); // throws E_REGISTRY_CACHE when another user owns it
 */
export async function ownedDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  const uid = process.getuid?.();
  const foreign = uid !== undefined && st.uid !== uid && st.uid !== 0;
  const openToAll = (st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0;
  if (!st.isDirectory() || foreign || openToAll) {
    const why = !st.isDirectory() ? 'is not a directory (a link?)' : foreign ? `is owned by uid ${st.uid}` : 'is writable by every user';
    const hint = 'use a directory of your own (chmod 700), e.g. $SWITCHYARD_REGISTRY_CACHE for a PostgreSQL registry';
    throw new SwitchyardError('E_REGISTRY_CACHE', `${dir}: ${why}, so what is materialized there could be swapped`, hint);
  }
}

async function writeInto(dir: string, files: readonly VersionFile[]): Promise<void> {
  for (const f of files) await writeFileAtomic(join(dir, ...f.path.split('/')), f.bytes);
  await pausePoint('materialize-files');
}

/**
 * Writes `files` into a fresh temp directory beside `dest` and renames it to `dest`, replacing whatever
 * was there: readers of `dest` see the old directory or the complete new one, and nothing of the old one
 * survives. Paths must already be checked (relative, no `..`).
 *
 * @param files the verified files
 * @param dest the directory to create or replace
 * @example
 * await replaceVersionDir([{ path: 'model.onnx', bytes }], 'cache/penguins/3');
 */
export async function replaceVersionDir(files: readonly VersionFile[], dest: string): Promise<void> {
  await ownedDir(dirname(dest));
  const tmp = await mkdtemp(`${dest}.tmp-${process.pid}-`);
  try {
    await writeInto(tmp, files);
    await commitDirAtomic(tmp, dest);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Writes `files` into a new directory of its own under `cacheDir` (no other call ever uses it) and
 * returns it; the caller removes it when done (`registry gc` removes one left behind by a killed process).
 *
 * @param files the verified files
 * @param cacheDir the registry's cache directory
 * @param label a readable prefix of the directory name, e.g. `penguins@3`
 * @example
 * const dir = await privateVersionDir(files, '/var/cache/switchyard', 'penguins@3');
 * try { await loadModel(dir); } finally { await rm(dir, { recursive: true, force: true }); }
 */
export async function privateVersionDir(
  files: readonly VersionFile[],
  cacheDir: string,
  label: string,
): Promise<string> {
  await ownedDir(cacheDir);
  await ownedDir(join(cacheDir, PRIVATE));
  const dir = await mkdtemp(join(cacheDir, PRIVATE, `${label}-`));
  try {
    await writeInto(dir, files);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** One directory an interrupted materialization left in a cache (see {@link cacheLeftovers}). */
export interface Leftover {
  path: string;
  /** Last modified, ms since the epoch. */
  modifiedAt: number;
}

/**
 * The directories under `cacheDir` that belong to no finished materialization: temp and set-aside
 * directories of {@link replaceVersionDir} and private directories of {@link privateVersionDir}.
 *
 * @param cacheDir the registry's cache directory
 * @example
 * await cacheLeftovers('/var/cache/switchyard'); // [{ path: '…/penguins/3.tmp-4242-Xy12Ab', modifiedAt: … }]
 */
export async function cacheLeftovers(cacheDir: string): Promise<Leftover[]> {
  const list = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).map((n) => join(dir, n));
  const paths = [...(await list(join(cacheDir, PRIVATE)))];
  for (const model of await readdir(cacheDir).catch(() => [] as string[])) {
    if (model !== PRIVATE) paths.push(...(await list(join(cacheDir, model))).filter((p) => LEFTOVER.test(basename(p))));
  }
  const out: Leftover[] = [];
  for (const path of paths) {
    const st = await stat(path).catch(() => null);
    if (st) out.push({ path, modifiedAt: st.mtimeMs });
  }
  return out;
}
