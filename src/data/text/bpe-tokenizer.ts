/**
 * A byte-level BPE tokenizer defined by an ordered list of merges (train one with `trainBpe` in bpe.ts).
 * Ids 0..255 are the bytes; merge `i` (a pair of existing ids) creates id `256 + i`.
 */
import { SwitchyardError } from '../../util/errors.ts';
import { tokenRangeError, utf8Decode, utf8Encode } from './bytes.ts';
import { forEachPiece, PRETOKENIZER_NAME } from './pretokenize.ts';
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
 * Byte-level BPE: text is cut into pieces by the pre-tokenizer (see pretokenize.ts), each piece's UTF-8
 * bytes are merged by rank (lowest-numbered applicable merge first, all its occurrences left to right,
 * repeated), and the result is cached per piece. Decoding concatenates each id's bytes, so it inverts
 * encoding exactly for every well-formed string (emoji, CJK, control characters, a leading U+FEFF).
 *
 * @example
 * const tok = new BpeTokenizer([[116, 104], [256, 101]]); // 'th' -> 256, 'the' -> 257
 * tok.encode('the');        // Int32Array [257]
 * tok.decode([257, 32]);    // 'the '
 */
export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  /** The merges in rank order; `merges[i]` creates id `256 + i`. */
  readonly merges: ReadonlyArray<readonly [number, number]>;
  private readonly ranks = new Map<number, number>();
  private readonly table: Uint8Array[] = [];
  private readonly cache = new Map<string, Int32Array>();

  /** Builds the tokenizer from its merges; throws `E_TOKENIZER` if a merge uses an id not yet defined. */
  constructor(merges: ReadonlyArray<readonly [number, number]>) {
    if (256 + merges.length > MAX_BPE_VOCAB) {
      throw new SwitchyardError('E_TOKENIZER', `BPE with ${256 + merges.length} tokens exceeds the limit of ${MAX_BPE_VOCAB}`, 'use a smaller vocabulary');
    }
    for (let i = 0; i < 256; i++) this.table.push(Uint8Array.of(i));
    const copy: [number, number][] = [];
    merges.forEach(([a, b], i) => {
      const next = 256 + i;
      const ok = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) < next;
      if (!ok(a) || !ok(b)) {
        throw new SwitchyardError('E_TOKENIZER', `BPE merge ${i} is [${a}, ${b}]: ids must be integers below ${next}`, 'the merge list is damaged; re-train or re-save the tokenizer');
      }
      const key = pairKey(a, b);
      if (this.ranks.has(key)) {
        throw new SwitchyardError('E_TOKENIZER', `BPE merge ${i} [${a}, ${b}] repeats merge ${this.ranks.get(key)}`, 'the merge list is damaged; re-train or re-save the tokenizer');
      }
      this.ranks.set(key, i);
      const ta = this.table[a];
      const tb = this.table[b];
      const t = new Uint8Array(ta.length + tb.length);
      t.set(ta);
      t.set(tb, ta.length);
      this.table.push(t);
      copy.push([a, b]);
    });
    this.merges = copy;
    this.vocabSize = 256 + merges.length;
  }

  /** Token ids of `text`. */
  encode(text: string): Int32Array {
    let out = new Int32Array(Math.max(16, text.length >> 1));
    let n = 0;
    forEachPiece(text, (piece) => {
      let ids = this.cache.get(piece);
      if (!ids) {
        ids = this.encodePiece(piece);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(piece, ids);
      }
      if (n + ids.length > out.length) {
        const bigger = new Int32Array(Math.max(out.length * 2, n + ids.length));
        bigger.set(out.subarray(0, n));
        out = bigger;
      }
      out.set(ids, n);
      n += ids.length;
    });
    return out.slice(0, n);
  }

  /** Applies the merges by rank to the bytes of one piece. */
  private encodePiece(piece: string): Int32Array {
    let sym: Int32Array;
    let ascii = true;
    for (let i = 0; i < piece.length && ascii; i++) ascii = piece.charCodeAt(i) < 128;
    if (ascii) {
      sym = new Int32Array(piece.length);
      for (let i = 0; i < piece.length; i++) sym[i] = piece.charCodeAt(i);
    } else sym = Int32Array.from(utf8Encode(piece));
    let n = sym.length;
    const ranks = this.ranks;
    while (n > 1) {
      let best = Infinity;
      for (let i = 0; i < n - 1; i++) {
        const r = ranks.get(pairKey(sym[i], sym[i + 1]));
        if (r !== undefined && r < best) best = r;
      }
      if (best === Infinity) break;
      const [a, b] = this.merges[best];
      const c = 256 + best;
      let j = 0;
      for (let i = 0; i < n; ) {
        if (i < n - 1 && sym[i] === a && sym[i + 1] === b) {
          sym[j++] = c;
          i += 2;
        } else sym[j++] = sym[i++];
      }
      n = j;
    }
    return sym.slice(0, n);
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
