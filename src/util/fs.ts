/**
 * File-system helpers that keep the "nothing is half-written" promise: atomic file writes
 * (temp name in the same directory, fsync, rename), atomic directory commits, SHA-256 hashing
 * and a `manifest.json` listing every artefact of a run directory with its size and hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwitchyardError } from './errors.ts';
import { killPoint } from './kill-point.ts';

/** Name of the manifest file written by {@link writeManifest}. */
export const MANIFEST_NAME = 'manifest.json';

/** One file listed in a manifest; `path` is relative to the directory and uses `/` separators. */
export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
}

/** Contents of `manifest.json`. Files are sorted by path. */
export interface Manifest {
  version: 1;
  algorithm: 'sha256';
  files: ManifestEntry[];
}

function tempNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

async function fsyncDir(dir: string): Promise<void> {
  // Persist the rename itself. Not supported everywhere (e.g. Windows): best effort.
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    /* ignore */
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * The error of a file that cannot be written, as a one-line user error naming the path (E_OUTPUT), when the
 * cause is the path or the disk (a directory there, a missing or read-only parent, no space); others as they are.
 */
function outputError(file: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, [string, string]> = {
    EISDIR: ['it is a directory', `name a file, e.g. ${path.join(file, 'out')}`],
    ENOTDIR: ['a parent of it is a file, not a directory', 'choose another path'],
    EEXIST: ['a parent of it is a file, not a directory', 'choose another path'],
    ENOENT: ['no such directory, or new files cannot be created there', 'choose a path in a writable directory'],
    EACCES: ['permission denied', 'choose a path you can write to'],
    EPERM: ['operation not permitted', 'choose a path you can write to'],
    EROFS: ['the file system is read-only', 'choose a path on a writable disk'],
    ENOSPC: ['no space left on the device', 'free some disk space and run again'],
  };
  const hit = code ? why[code] : undefined;
  return hit ? new SwitchyardError('E_OUTPUT', `${file}: cannot write (${hit[0]})`, hit[1], code === 'ENOSPC' ? 1 : 2) : err;
}

/**
 * Writes `data` to `file` atomically: the bytes go to a temp file in the same directory, are fsynced,
 * and the temp file is renamed over `file`. Readers see the old file or the new one, never a partial one.
 * Parent directories are created. On failure the temp file is removed and the old file is untouched; a path
 * that cannot be written (a directory, a read-only parent, a full disk) is an E_OUTPUT error naming it.
 *
 * @example
 * await writeFileAtomic('runs/a/config.json', '{"lr":0.001}\n');
 * await writeFileAtomic('runs/a/model.bin', new Uint8Array([1, 2, 3]));
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempNameFor(file);
  let fh: fsp.FileHandle | undefined;
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    fh = await fsp.open(tmp, 'wx');
    const bytes = toBytes(data);
    let off = 0;
    while (off < bytes.byteLength) {
      const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off);
      off += bytesWritten;
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, file);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw outputError(file, err);
  }
  await fsyncDir(path.dirname(file));
}

/**
 * Synchronous twin of {@link writeFileAtomic}, for exit paths and places that cannot await.
 *
 * @example
 * writeFileAtomicSync('runs/a/status.txt', 'done\n');
 */
export function writeFileAtomicSync(file: string, data: Uint8Array | string): void {
  const tmp = tempNameFor(file);
  let fd: number | undefined;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fd = fs.openSync(tmp, 'wx');
    const bytes = toBytes(data);
    let off = 0;
    while (off < bytes.byteLength) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* ignore */
      }
    }
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* the temp file was never created (e.g. its parent is a file) */
    }
    throw outputError(file, err);
  }
}

/**
 * Writes `obj` as pretty-printed JSON (2-space indent, trailing newline) atomically.
 * `bigint` values are written as numbers when they fit exactly, otherwise as strings.
 *
 * @example
 * await writeJsonAtomic('runs/a/config.json', { model: 'mlp', lr: 1e-3, seed: 42 });
 */
export async function writeJsonAtomic(file: string, obj: unknown): Promise<void> {
  await writeFileAtomic(file, stringifyJson(obj, 2) + '\n');
}

/**
 * `JSON.stringify` that accepts `bigint` (as a number when safe, else a decimal string).
 *
 * @example
 * stringifyJson({ n: 3n }); // '{"n":3}'
 */
export function stringifyJson(obj: unknown, indent?: number): string {
  return JSON.stringify(
    obj,
    (_k, v: unknown) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v),
    indent,
  );
}

/**
 * Lower-case hex SHA-256 of some bytes (strings are hashed as UTF-8).
 *
 * @example
 * sha256Bytes(''); // 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
 */
export function sha256Bytes(bytes: Uint8Array | string): string {
  return createHash('sha256').update(toBytes(bytes)).digest('hex');
}

/**
 * Lower-case hex SHA-256 of a file, streamed (constant memory).
 *
 * @example
 * const h = await sha256File('runs/a/model.safetensors');
 */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Every regular file below `dir`, recursively, as `/`-separated paths relative to `dir` (unsorted).
 *
 * @example
 * await listFiles('runs/a'); // ['config.json', 'model.safetensors', 'reports/eval/eval.json']
 */
export async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await fsp.readdir(path.join(dir, rel), { withFileTypes: true });
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, r)));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

/**
 * Writes `<dir>/manifest.json` listing every regular file under `dir` (recursively, `manifest.json`
 * at the top excluded) with its size and SHA-256, sorted by path. Returns the manifest.
 *
 * @example
 * const m = await writeManifest('runs/a');
 * m.files[0]; // { path: 'config.json', size: 120, sha256: '9f86…' }
 */
export async function writeManifest(dir: string): Promise<Manifest> {
  const rels = (await listFiles(dir)).filter((r) => r !== MANIFEST_NAME).sort();
  const files: ManifestEntry[] = [];
  for (const r of rels) {
    const abs = path.join(dir, ...r.split('/'));
    const { size } = await fsp.stat(abs);
    files.push({ path: r, size, sha256: await sha256File(abs) });
  }
  const manifest: Manifest = { version: 1, algorithm: 'sha256', files };
  await writeJsonAtomic(path.join(dir, MANIFEST_NAME), manifest);
  return manifest;
}

function manifestError(dir: string, what: string): SwitchyardError {
  return new SwitchyardError(
    'E_MANIFEST',
    `${path.join(dir, MANIFEST_NAME)}: ${what}`,
    'the run directory was modified or damaged after it was written; re-create it or restore it from a copy',
  );
}

/** Options for {@link verifyManifest}. */
export interface VerifyManifestOptions {
  /** Also fail when a file exists in the directory but is not listed. Default false. */
  strict?: boolean;
  /**
   * Fail when a file that exists but is not listed matches this test (e.g. {@link isModelArtefact}: a planted
   * model file); other unlisted files (reports beside a run) are allowed. Default: none ({@link strict} = all).
   */
  rejectUnlisted?: (rel: string) => boolean;
  /** Listed entries not to check (e.g. a run's `checkpoint/`, which registry copies leave out). Default: none. */
  skip?: (rel: string) => boolean;
  /** These paths must be listed (and so are checked, unless skipped). Default: none. */
  require?: readonly string[];
}

/**
 * Whether a path in a run directory names something a loader could take as a model or its configuration:
 * weights (`.safetensors`, `.onnx`, `.onnx.data`, `.ort`, `.pt`, `.pth`, `.bin`, `.pb`), `config.json` or
 * `calibration.json`. Unlisted files like these are refused by loaders; other unlisted files are never read.
 *
 * @example
 * isModelArtefact('model.onnx'); // true
 * isModelArtefact('reports/eval/eval.html'); // false
 */
export function isModelArtefact(rel: string): boolean {
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  return /\.(safetensors|onnx|onnx\.data|ort|pt|pth|bin|pb)$/i.test(name) || name === 'config.json' || name === 'calibration.json';
}

/**
 * Checks every file listed in `<dir>/manifest.json`: it must exist, and have the listed size and SHA-256.
 * Throws `SwitchyardError('E_MANIFEST')` naming the first file that is missing or differs.
 * Returns the manifest when everything matches.
 *
 * @example
 * await verifyManifest('runs/a'); // throws E_MANIFEST: "runs/a/manifest.json: model.safetensors: sha256 differs …"
 */
export async function verifyManifest(dir: string, opts: VerifyManifestOptions = {}): Promise<Manifest> {
  const mpath = path.join(dir, MANIFEST_NAME);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await fsp.readFile(mpath, 'utf8')) as Manifest;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw manifestError(dir, e.code === 'ENOENT' ? 'no manifest in this directory' : `cannot read the manifest (${e.message})`);
  }
  if (!manifest || typeof manifest !== 'object' || !Array.isArray(manifest.files)) {
    throw manifestError(dir, 'not a manifest (no "files" list)');
  }
  const listed = new Set<string>();
  for (const f of manifest.files) {
    if (!f || typeof f.path !== 'string' || typeof f.sha256 !== 'string' || typeof f.size !== 'number') {
      throw manifestError(dir, `malformed entry ${JSON.stringify(f)}`);
    }
    const parts = f.path.split('/');
    if (path.isAbsolute(f.path) || parts.some((p) => p === '..' || p === '' || p.includes('\\'))) {
      throw manifestError(dir, `entry "${f.path}" points outside the directory`);
    }
    listed.add(f.path);
    if (opts.skip?.(f.path)) continue;
    const abs = path.join(dir, ...parts);
    let size: number;
    try {
      size = (await fsp.stat(abs)).size;
    } catch {
      throw manifestError(dir, `${f.path}: file is missing`);
    }
    if (size !== f.size) throw manifestError(dir, `${f.path}: size is ${size} bytes, manifest says ${f.size}`);
    const h = await sha256File(abs);
    if (h !== f.sha256) throw manifestError(dir, `${f.path}: sha256 differs (file ${h}, manifest ${f.sha256})`);
  }
  for (const r of opts.require ?? []) {
    if (!listed.has(r)) throw manifestError(dir, `${r}: not listed in the manifest`);
  }
  const reject = opts.strict ? () => true : opts.rejectUnlisted;
  if (reject) {
    for (const r of (await listFiles(dir)).sort()) {
      if (r === MANIFEST_NAME || listed.has(r) || !reject(r)) continue;
      if (opts.strict) throw manifestError(dir, `${r}: file is not listed in the manifest`);
      // A model file put beside a run after it was written: loading it would use something the run never recorded.
      throw new SwitchyardError(
        'E_UNLISTED_MODEL',
        `${path.join(dir, r)}: file is not listed in the manifest (${path.join(dir, MANIFEST_NAME)}); refusing to load`,
        'a run holds only what switchyard wrote: remove the file, or export ONNX beside the run (--out runs/x.onnx)',
      );
    }
  }
  return manifest;
}

/**
 * Adds (or refreshes) the entries of `rels` — files under `dir` that were just written from verified inputs,
 * such as an export or a calibration — in `<dir>/manifest.json`, leaving every other entry as it is (unlike
 * {@link writeManifest}, which would also take in any file planted beside them). Returns the new manifest.
 *
 * @example
 * await writeFileAtomic('runs/a/model.onnx', bytes);
 * await addToManifest('runs/a', ['model.onnx']);
 */
export async function addToManifest(dir: string, rels: readonly string[]): Promise<Manifest> {
  const mpath = path.join(dir, MANIFEST_NAME);
  const manifest = JSON.parse(await fsp.readFile(mpath, 'utf8')) as Manifest;
  const byPath = new Map(manifest.files.map((f) => [f.path, f]));
  for (const r of rels) {
    const abs = path.join(dir, ...r.split('/'));
    byPath.set(r, { path: r, size: (await fsp.stat(abs)).size, sha256: await sha256File(abs) });
  }
  const files = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const next: Manifest = { version: 1, algorithm: 'sha256', files };
  await writeJsonAtomic(mpath, next);
  return next;
}

/**
 * The conventional temp directory in which `finalDir` is built before {@link commitDirAtomic}:
 * `finalDir + '.tmp-<pid>'`.
 *
 * @example
 * const tmp = tempDirFor('runs/exp1'); // 'runs/exp1.tmp-12345'
 */
export function tempDirFor(finalDir: string): string {
  return `${finalDir.replace(/[\\/]+$/, '')}.tmp-${process.pid}`;
}

/**
 * Removes the temp directories ({@link tempDirFor}) that processes which no longer run left beside `finalDir`
 * (a `train --force` killed before its swap). A directory of a live process, or of an unknown pid, is spared.
 * Returns the paths removed.
 *
 * @example
 * await removeStaleTempDirs('runs/exp1'); // ['runs/exp1.tmp-4242'] when process 4242 is gone
 */
export async function removeStaleTempDirs(finalDir: string): Promise<string[]> {
  const base = path.basename(finalDir.replace(/[\\/]+$/, ''));
  const parent = path.dirname(path.resolve(finalDir));
  const removed: string[] = [];
  for (const name of await fsp.readdir(parent).catch(() => [] as string[])) {
    const m = name.startsWith(`${base}.tmp-`) ? /^(\d+)$/.exec(name.slice(base.length + 5)) : null;
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    const dir = path.join(parent, name);
    if (!(await fsp.stat(dir).catch(() => undefined))?.isDirectory()) continue;
    await fsp.rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: alive, another user's
  }
}

/** Options of {@link commitDirAtomic}. */
export interface CommitDirOptions {
  /**
   * Where the old directory waits between the two renames. Default: a fresh `<finalDir>.old-<pid>-<random>`.
   * A fixed name lets a reader find the old set after a crash between the renames (see `loadCheckpoint`).
   */
  aside?: string;
}

/**
 * Moves a fully built directory into place. If `finalDir` exists it is first renamed aside, then the
 * new directory is renamed in, then the old one is removed; if the second rename fails the old one is
 * put back. Both paths must be on the same file system (build `tmpDir` with {@link tempDirFor}).
 *
 * @example
 * const tmp = tempDirFor('runs/exp1');
 * await writeJsonAtomic(`${tmp}/config.json`, { lr: 1e-3 });
 * await writeManifest(tmp);
 * await commitDirAtomic(tmp, 'runs/exp1');
 */
export async function commitDirAtomic(tmpDir: string, finalDir: string, opts: CommitDirOptions = {}): Promise<void> {
  const st = await fsp.stat(tmpDir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new SwitchyardError('E_FS', `${tmpDir}: not a directory, cannot commit it to ${finalDir}`, '', 1);
  }
  await fsp.mkdir(path.dirname(finalDir), { recursive: true });
  const exists = await fsp.stat(finalDir).then(() => true, () => false);
  if (!exists) {
    await fsp.rename(tmpDir, finalDir);
    await fsyncDir(path.dirname(finalDir));
    return;
  }
  const aside = opts.aside ?? `${finalDir.replace(/[\\/]+$/, '')}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fsp.rm(aside, { recursive: true, force: true });
  await fsp.rename(finalDir, aside);
  killPoint('commit:aside');
  try {
    await fsp.rename(tmpDir, finalDir);
  } catch (err) {
    await fsp.rename(aside, finalDir).catch(() => undefined);
    throw err;
  }
  await fsyncDir(path.dirname(finalDir));
  await fsp.rm(aside, { recursive: true, force: true });
}
