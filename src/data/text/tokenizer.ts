/**
 * The tokenizer interface shared by language models, the byte-level tokenizer, a streaming decoder that
 * never splits a multi-byte character, and saving/loading tokenizers as JSON.
 */
import { promises as fsp } from 'node:fs';
import { SwitchyardError } from '../../util/errors.ts';
import { writeJsonAtomic } from '../../util/fs.ts';
import { BpeTokenizer } from './bpe-tokenizer.ts';
import { isHuggingFaceJSON, tokenizerFromHuggingFace } from './hf-tokenizer.ts';
import { tokenRangeError, utf8Decode, utf8Encode } from './bytes.ts';

/**
 * Turns text into token ids and back. Ids are in `[0, vocabSize)`; every id stands for a fixed byte
 * string (`tokenBytes`), and `decode` concatenates those bytes and reads them as UTF-8, so
 * `decode(encode(s)) === s` for every well-formed string.
 *
 * @example
 * const tok: Tokenizer = new ByteTokenizer();
 * tok.decode(tok.encode('héllo')); // 'héllo'
 */
export interface Tokenizer {
  readonly kind: 'byte' | 'bpe';
  /** Number of distinct ids; the embedding table and output layer of a model have this many rows. */
  readonly vocabSize: number;
  /** Token ids of `text`. */
  encode(text: string): Int32Array;
  /** Text of `ids`; bytes that do not form valid UTF-8 (e.g. a character cut at the end) become U+FFFD. */
  decode(ids: ArrayLike<number>): string;
  /** The bytes one id stands for (a view: do not modify it). Throws `E_TOKEN_RANGE` for a bad id. */
  tokenBytes(id: number): Uint8Array;
  /** A JSON-serialisable description that {@link tokenizerFromJSON} turns back into the same tokenizer. */
  toJSON(): object;
}

const SINGLE_BYTES: Uint8Array[] = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));

/**
 * The simplest tokenizer: one token per UTF-8 byte, vocabulary 256. No training, no unknown tokens.
 *
 * @example
 * const tok = new ByteTokenizer();
 * tok.encode('é');          // Int32Array [195, 169]
 * tok.decode([195, 169]);   // 'é'
 * tok.decode([195]);        // '\uFFFD' (incomplete character)
 */
export class ByteTokenizer implements Tokenizer {
  readonly kind = 'byte' as const;
  readonly vocabSize = 256;

  /** UTF-8 bytes of `text` as ids. */
  encode(text: string): Int32Array {
    return Int32Array.from(utf8Encode(text));
  }

  /** Reads the ids as UTF-8 bytes. */
  decode(ids: ArrayLike<number>): string {
    const bytes = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < 256) || !Number.isInteger(id)) throw tokenRangeError(id, 256, 'byte');
      bytes[i] = id;
    }
    return utf8Decode(bytes);
  }

  /** The single byte `id`. */
  tokenBytes(id: number): Uint8Array {
    const b = SINGLE_BYTES[id];
    if (!b) throw tokenRangeError(id, 256, 'byte');
    return b;
  }

  /** `{ kind: 'byte', version: 1, vocabSize: 256 }`. */
  toJSON(): { kind: 'byte'; version: 1; vocabSize: 256 } {
    return { kind: 'byte', version: 1, vocabSize: 256 };
  }
}

/**
 * Incremental decoder returned by {@link createStreamDecoder}.
 *
 * @example
 * const dec: StreamDecoder = createStreamDecoder(new ByteTokenizer());
 * process.stdout.write(dec.push(104) + dec.flush()); // 'h'
 */
export interface StreamDecoder {
  /** Adds one id; returns the text completed by it ('' while a multi-byte character is still partial). */
  push(id: number): string;
  /** Ends the stream: returns what is left (an incomplete character as U+FFFD) and resets the decoder. */
  flush(): string;
}

/**
 * A decoder that takes ids one at a time, e.g. as a model generates them, and returns only text that is
 * complete, holding back the bytes of a character whose remaining bytes are still to come. Concatenating
 * every `push` result and the final `flush` equals `tok.decode(allIds)`.
 *
 * @example
 * const tok = new ByteTokenizer();
 * const dec = createStreamDecoder(tok);
 * for (const id of tok.encode('a😀')) process.stdout.write(dec.push(id)); // 'a', '', '', '', '😀'
 * process.stdout.write(dec.flush());
 */
export function createStreamDecoder(tok: Tokenizer): StreamDecoder {
  let decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  return {
    push(id: number): string {
      return decoder.decode(tok.tokenBytes(id), { stream: true });
    },
    flush(): string {
      const rest = decoder.decode();
      decoder = new TextDecoder('utf-8', { ignoreBOM: true });
      return rest;
    },
  };
}

function badTokenizer(what: string): SwitchyardError {
  return new SwitchyardError('E_TOKENIZER', `tokenizer JSON: ${what}`, 'load a file written by saveTokenizer / switchyard (tokenizer.json)');
}

/**
 * Rebuilds a tokenizer from its {@link Tokenizer.toJSON} form (`kind: 'byte'` or `kind: 'bpe'`), or from a
 * Hugging Face `tokenizer.json` object (byte-level BPE, see `tokenizerFromHuggingFace`).
 * Throws `E_TOKENIZER` for anything else or a damaged merge list.
 *
 * @example
 * const tok = tokenizerFromJSON(JSON.parse(await readFile('runs/a/tokenizer.json', 'utf8')));
 */
export function tokenizerFromJSON(json: unknown): Tokenizer {
  if (!json || typeof json !== 'object') throw badTokenizer('not an object');
  if (isHuggingFaceJSON(json)) return tokenizerFromHuggingFace(json);
  const kind = (json as { kind?: unknown }).kind;
  if (kind === 'byte') {
    const v = (json as { vocabSize?: unknown }).vocabSize;
    if (v !== undefined && v !== 256) throw badTokenizer(`byte tokenizer with vocabSize ${String(v)} (must be 256)`);
    return new ByteTokenizer();
  }
  if (kind === 'bpe') return BpeTokenizer.fromJSON(json);
  throw badTokenizer(`unknown kind ${JSON.stringify(kind)} (expected "byte" or "bpe")`);
}

/**
 * Writes `tok.toJSON()` to `file` atomically.
 *
 * @example
 * await saveTokenizer('runs/a/tokenizer.json', tok);
 */
export async function saveTokenizer(file: string, tok: Tokenizer): Promise<void> {
  await writeJsonAtomic(file, tok.toJSON());
}

/**
 * Reads a tokenizer written by {@link saveTokenizer}, or a Hugging Face byte-level BPE `tokenizer.json`.
 * Throws `E_FILE_NOT_FOUND` or `E_TOKENIZER` (the message starts with the file and names the field).
 *
 * @example
 * const tok = await loadTokenizer('runs/a/tokenizer.json');
 */
export async function loadTokenizer(file: string): Promise<Tokenizer> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SwitchyardError('E_FILE_NOT_FOUND', `${file}: no such file`, 'pass the tokenizer.json saved with the model');
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SwitchyardError('E_TOKENIZER', `${file}: not valid JSON (${(err as Error).message})`, 'the file is damaged; re-create it');
  }
  try {
    return tokenizerFromJSON(json);
  } catch (err) {
    if (err instanceof SwitchyardError) throw new SwitchyardError(err.code, `${file}: ${err.message}`, err.hint);
    throw err;
  }
}
