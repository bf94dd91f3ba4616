/**
 * Byte-level BPE tokenizers: the engine shared by every id layout ({@link ByteLevelBpe}) and our own layout
 * ({@link BpeTokenizer}: ids 0..255 are the bytes, merge `i` creates id `256 + i`; train one with `trainBpe`).
 */
import { SwitchyardError } from '../../util/errors.ts';
import { tokenRangeError, utf8Decode, utf8Encode } from './bytes.ts';
import { forEachPiece, type PieceSplitter, PRETOKENIZER_NAME } from './pretokenize.ts';
import type { Tokenizer } from './tokenizer.ts';

/**
 * Largest vocabulary a BPE tokenizer may have (pair keys pack two ids into one float64-safe number).
 *
 * @example
 * trainBpe(texts, MAX_BPE_VOCAB + 1); // throws E_TOKENIZER
 */
export const MAX_BPE_VOCAB = 1 << 21;

/**
 * Packs a pair of ids into one number, ordered like the pair (by `a`, then by `b`).
 *
 * @example
 * pairKey(104, 105) < pairKey(104, 106); // true
 */
export function pairKey(a: number, b: number): number {
  return a * MAX_BPE_VOCAB + b;
}

/** Pieces cached per tokenizer before the cache is cleared (bounds memory on unbounded input). */
const CACHE_LIMIT = 100_000;

/**
 * JSON form of a {@link BpeTokenizer} (`merges[i]` creates id `256 + i`).
 *
 * @example
 * const json: BpeJSON = { kind: 'bpe', version: 1, vocabSize: 257, pretokenizer: 'switchyard-v1', merges: [[116, 104]] };
 */
export interface BpeJSON {
  kind: 'bpe';
  version: 1;
  vocabSize: number;
  pretokenizer: string;
  merges: [number, number][];
}

/**
 * The id tables of a byte-level BPE: the bytes of every id, the id of every single byte, and the merges in rank
 * order as `[left id, right id, result id]`.
 *
 * @example
 * const tables: BpeTables = { tokens, byteIds: Int32Array.from({ length: 256 }, (_, b) => b), merges: [[116, 104, 256]] };
 */
export interface BpeTables {
  tokens: Uint8Array[];
  byteIds: Int32Array;
  merges: ReadonlyArray<readonly [number, number, number]>;
}

/**
 * An added (special) token: `content` is cut out of the text before pre-tokenisation and becomes `id`.
 * `normalized` tokens are matched after the normalizer, the others before it (as Hugging Face does).
 *
 * @example
 * const eot: AddedToken = { id: 50256, content: '<|endoftext|>', special: true, normalized: false };
 */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  normalized: boolean;
}

/**
 * What surrounds the BPE of a {@link ByteLevelBpe}: pre-tokenizer, added tokens, normalizer, `ignore_merges`.
 *
 * @example
 * const opts: ByteLevelBpeOptions = { splitter: forEachPiece };
 */
export interface ByteLevelBpeOptions {
  splitter: PieceSplitter;
  added?: AddedToken[];
  normalizer?: 'NFC' | null;
  /** A piece that is a whole vocabulary entry becomes that id without merges (keys: one char per byte). */
  wholePieces?: Map<string, number>;
}

const escapeRegex = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** A pattern matching any of `contents`, longest first (leftmost-longest, as Hugging Face's matcher). */
function addedPattern(tokens: AddedToken[]): RegExp | null {
  if (tokens.length === 0) return null;
  const sorted = [...tokens].sort((a, b) => b.content.length - a.content.length);
  return new RegExp(sorted.map((t) => escapeRegex(t.content)).join('|'), 'gu');
}

/**
 * Byte-level BPE over any id layout: text is split at added tokens, normalized, cut into pieces by the
 * pre-tokenizer, and each piece's UTF-8 bytes are merged by rank exactly as Hugging Face's BPE does (the
 * lowest-ranked pair first, the leftmost among equals); the result is cached per piece. Decoding concatenates
 * each id's bytes, so it inverts encoding exactly for every well-formed string (a prefix space aside).
 * {@link BpeTokenizer} (ours) and the tokenizers read from `tokenizer.json` files share this engine.
 *
 * @example
 * class Mine extends ByteLevelBpe { toJSON() { return {}; } }
 */
export abstract class ByteLevelBpe implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  private readonly table: Uint8Array[];
  private readonly byteIds: Int32Array;
  private readonly ranks = new Map<number, number>();
  private readonly results: Int32Array;
  private readonly cache = new Map<string, Int32Array>();
  private readonly split: PieceSplitter;
  private readonly normalize: ((s: string) => string) | null;
  private readonly rawAdded: RegExp | null;
  private readonly normalizedAdded: RegExp | null;
  private readonly addedIds = new Map<string, number>();
  private readonly wholePieces: Map<string, number> | null;
  /** Whether every merge comes after the merges that make its two tokens (then no merge makes a lower-ranked pair). */
  private readonly ranksInOrder: boolean;

  /** Builds the engine; throws `E_TOKENIZER` when a merge repeats another or names an id without bytes. */
  protected constructor(tables: BpeTables, opts: ByteLevelBpeOptions) {
    this.table = tables.tokens;
    this.vocabSize = tables.tokens.length;
    if (this.vocabSize > MAX_BPE_VOCAB) {
      const what = `BPE with ${this.vocabSize} tokens exceeds the limit of ${MAX_BPE_VOCAB}`;
      throw new SwitchyardError('E_TOKENIZER', what, 'use a smaller vocabulary');
    }
    this.byteIds = tables.byteIds;
    this.results = new Int32Array(tables.merges.length);
    tables.merges.forEach(([a, b, c], i) => {
      const key = pairKey(a, b);
      if (this.ranks.has(key)) {
        const what = `BPE merge ${i} [${a}, ${b}] repeats merge ${this.ranks.get(key)}`;
        throw new SwitchyardError('E_TOKENIZER', what, 'the merge list is damaged; re-train or re-save the tokenizer');
      }
      this.ranks.set(key, i);
      this.results[i] = c;
    });
    const madeAt = new Float64Array(this.vocabSize).fill(-1);
    tables.merges.forEach(([, , c], i) => (madeAt[c] = Math.max(madeAt[c], i)));
    this.ranksInOrder = tables.merges.every(([a, b], i) => madeAt[a] < i && madeAt[b] < i);
    this.split = opts.splitter;
    this.normalize = opts.normalizer === 'NFC' ? (s) => s.normalize('NFC') : null;
    const added = opts.added ?? [];
    for (const t of added) this.addedIds.set(t.content, t.id);
    // Without a normalizer both kinds match the same text; Hugging Face still cuts the raw ones out first.
    this.rawAdded = addedPattern(added.filter((t) => !t.normalized || !this.normalize));
    this.normalizedAdded = this.normalize ? addedPattern(added.filter((t) => t.normalized)) : null;
    this.wholePieces = opts.wholePieces ?? null;
  }

  /** Token ids of `text`. */
  encode(text: string): Int32Array {
    const out = { ids: new Int32Array(Math.max(16, text.length >> 1)), n: 0 };
    this.encodeAdded(text, this.rawAdded, out, (section) => {
      const normalized = this.normalize ? this.normalize(section) : section;
      this.encodeAdded(normalized, this.normalizedAdded, out, (s) => this.encodeSection(s, out));
    });
    return out.ids.slice(0, out.n);
  }

  /** Cuts `text` at the added tokens matched by `re` (their ids go to `out`) and hands the rest to `rest`. */
  private encodeAdded(text: string, re: RegExp | null, out: IdBuffer, rest: (s: string) => void): void {
    if (!re) return text.length > 0 ? rest(text) : undefined;
    let last = 0;
    for (const m of text.matchAll(re)) {
      if (m.index > last) rest(text.slice(last, m.index));
      push(out, Int32Array.of(this.addedIds.get(m[0])!));
      last = m.index + m[0].length;
    }
    if (last < text.length) rest(text.slice(last));
  }

  private encodeSection(text: string, out: IdBuffer): void {
    this.split(text, (piece) => {
      let ids = this.cache.get(piece);
      if (!ids) {
        ids = this.encodePiece(piece);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(piece, ids);
      }
      push(out, ids);
    });
  }

  /** Applies the merges by rank to the bytes of one piece. */
  private encodePiece(piece: string): Int32Array {
    let ascii = true;
    for (let i = 0; i < piece.length && ascii; i++) ascii = piece.charCodeAt(i) < 128;
    const bytes = ascii ? null : utf8Encode(piece);
    if (this.wholePieces) {
      const whole = this.wholePieces.get(bytes ? String.fromCharCode(...bytes) : piece);
      if (whole !== undefined) return Int32Array.of(whole);
    }
    const byteIds = this.byteIds;
    const sym = new Int32Array(bytes ? bytes.length : piece.length);
    for (let i = 0; i < sym.length; i++) sym[i] = byteIds[bytes ? bytes[i] : piece.charCodeAt(i)];
    let n = sym.length;
    const ranks = this.ranks;
    while (n > 1) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i < n - 1; i++) {
        const r = ranks.get(pairKey(sym[i], sym[i + 1]));
        if (r !== undefined && r < best) {
          best = r;
          at = i;
        }
      }
      if (at < 0) break;
      n = this.mergeFrom(sym, n, at, best);
    }
    return sym.slice(0, n);
  }

  /**
   * Merges the pair of rank `rank` at `at` and its later occurrences, left to right, in place; returns the new
   * length. When a file's merges use a token before the merge that makes it, a merge can make a pair of lower rank:
   * Hugging Face merges that pair next, so this stops there and the caller rescans.
   */
  private mergeFrom(sym: Int32Array, n: number, at: number, rank: number): number {
    const a = sym[at];
    const b = sym[at + 1];
    const c = this.results[rank];
    const check = !this.ranksInOrder;
    let w = at;
    let r = at;
    while (r < n) {
      if (r < n - 1 && sym[r] === a && sym[r + 1] === b) {
        sym[w] = c;
        r += 2;
        const stop = check
          && ((w > 0 && this.rankOf(sym[w - 1], c) < rank) || (r < n && this.rankOf(c, sym[r]) < rank));
        w++;
        if (stop) {
          sym.copyWithin(w, r, n);
          return w + n - r;
        }
      } else sym[w++] = sym[r++];
    }
    return w;
  }

  private rankOf(x: number, y: number): number {
    return this.ranks.get(pairKey(x, y)) ?? Infinity;
  }

  /** Text of `ids` (invalid UTF-8, e.g. a character cut at the end, becomes U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    let len = 0;
    for (let i = 0; i < ids.length; i++) len += this.tokenBytes(ids[i]).length;
    const bytes = new Uint8Array(len);
    let off = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = this.table[ids[i]];
      bytes.set(t, off);
      off += t.length;
    }
    return utf8Decode(bytes);
  }

  /** The bytes id `id` stands for. */
  tokenBytes(id: number): Uint8Array {
    const t = Number.isInteger(id) ? this.table[id] : undefined;
    if (!t) throw tokenRangeError(id, this.vocabSize, 'bpe');
    return t;
  }

  /** A JSON-serialisable description that `tokenizerFromJSON` turns back into the same tokenizer. */
  abstract toJSON(): object;
}

interface IdBuffer {
  ids: Int32Array;
  n: number;
}

function push(out: IdBuffer, ids: Int32Array): void {
  if (out.n + ids.length > out.ids.length) {
    const bigger = new Int32Array(Math.max(out.ids.length * 2, out.n + ids.length));
    bigger.set(out.ids.subarray(0, out.n));
    out.ids = bigger;
  }
  out.ids.set(ids, out.n);
  out.n += ids.length;
}

/**
 * Our byte-level BPE, defined by an ordered list of merges: ids 0..255 are the bytes and merge `i` (a pair of
 * existing ids) creates id `256 + i`; pieces come from our pre-tokenizer (pretokenize.ts).
 *
 * @example
 * const tok = new BpeTokenizer([[116, 104], [256, 101]]); // 'th' -> 256, 'the' -> 257
 * tok.encode('the');        // Int32Array [257]
 * tok.decode([257, 32]);    // 'the '
 */
export class BpeTokenizer extends ByteLevelBpe {
  /** The merges in rank order; `merges[i]` creates id `256 + i`. */
  readonly merges: ReadonlyArray<readonly [number, number]>;

  /** Builds the tokenizer from its merges; throws `E_TOKENIZER` if a merge uses an id not yet defined. */
  constructor(merges: ReadonlyArray<readonly [number, number]>) {
    const tokens: Uint8Array[] = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));
    const triples: [number, number, number][] = [];
    merges.forEach(([a, b], i) => {
      const next = 256 + i;
      const ok = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) < next;
      if (!ok(a) || !ok(b)) {
        throw new SwitchyardError('E_TOKENIZER', `BPE merge ${i} is [${a}, ${b}]: ids must be integers below ${next}`, 'the merge list is damaged; re-train or re-save the tokenizer');
      }
      const t = new Uint8Array(tokens[a].length + tokens[b].length);
      t.set(tokens[a]);
      t.set(tokens[b], tokens[a].length);
      tokens.push(t);
      triples.push([a, b, next]);
    });
    const byteIds = Int32Array.from({ length: 256 }, (_, i) => i);
    super({ tokens, byteIds, merges: triples }, { splitter: forEachPiece });
    this.merges = triples.map(([a, b]) => [a, b] as const);
  }

  /** The merge list and pre-tokenizer name (see {@link BpeJSON}). */
  toJSON(): BpeJSON {
    return { kind: 'bpe', version: 1, vocabSize: this.vocabSize, pretokenizer: PRETOKENIZER_NAME, merges: this.merges.map(([a, b]) => [a, b]) };
  }

  /**
   * Rebuilds a tokenizer from {@link BpeTokenizer.toJSON} output; throws `E_TOKENIZER` when the version,
   * pre-tokenizer or merge list does not check out.
   *
   * @example
   * const again = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
   */
  static fromJSON(json: unknown): BpeTokenizer {
    const bad = (what: string) =>
      new SwitchyardError('E_TOKENIZER', `BPE tokenizer JSON: ${what}`, 'load a file written by saveTokenizer, or re-train the tokenizer');
    const j = json as Partial<BpeJSON> | null;
    if (!j || typeof j !== 'object' || j.kind !== 'bpe') throw bad('kind is not "bpe"');
    if (j.version !== 1) throw bad(`unsupported version ${String(j.version)}`);
    if (j.pretokenizer !== PRETOKENIZER_NAME) throw bad(`pre-tokenizer "${String(j.pretokenizer)}" is not "${PRETOKENIZER_NAME}"`);
    if (!Array.isArray(j.merges)) throw bad('no "merges" list');
    for (let i = 0; i < j.merges.length; i++) {
      const m = j.merges[i];
      if (!Array.isArray(m) || m.length !== 2) throw bad(`merge ${i} is not a pair of ids`);
    }
    if (j.vocabSize !== 256 + j.merges.length) throw bad(`vocabSize ${String(j.vocabSize)} does not match 256 + ${j.merges.length} merges`);
    return new BpeTokenizer(j.merges as [number, number][]);
  }
}
