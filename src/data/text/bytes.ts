/**
 * UTF-8 helpers shared by the tokenizers and the readers: lossless encoding, lenient decoding (invalid or
 * incomplete sequences become U+FFFD, a leading U+FEFF is kept) for model output, strict decoding of input
 * files (invalid UTF-8 is an error naming `file:line`, never a silent U+FFFD), and the out-of-range id error.
 */
import { SwitchyardError } from '../../util/errors.ts';

const encoder = new TextEncoder();

/**
 * UTF-8 bytes of `text` (an unpaired surrogate, which UTF-8 cannot hold, becomes U+FFFD).
 *
 * @example
 * utf8Encode('é'); // Uint8Array [0xc3, 0xa9]
 */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Decodes UTF-8 leniently: invalid or truncated sequences become U+FFFD; a byte order mark is kept as
 * text so that decoding inverts {@link utf8Encode} exactly.
 *
 * @example
 * utf8Decode(new Uint8Array([0x68, 0x69, 0xf0, 0x9f])); // 'hi\uFFFD'
 */
export function utf8Decode(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
}

/**
 * The `E_TOKEN_RANGE` error for a token id outside `[0, vocabSize)`.
 *
 * @example
 * throw tokenRangeError(300, 256, 'byte');
 */
export function tokenRangeError(id: number, vocabSize: number, kind: string): SwitchyardError {
  return new SwitchyardError(
    'E_TOKEN_RANGE',
    `token id ${id} is outside the ${kind} tokenizer's vocabulary [0, ${vocabSize})`,
    "the ids come from a model or tokenizer with another vocabulary; use the tokenizer saved with the model",
  );
}

/**
 * Offset of the first byte that makes `bytes` invalid UTF-8 (overlong forms, surrogates, code points above
 * U+10FFFF and truncated sequences included), or -1 when the bytes are valid.
 *
 * @example
 * firstInvalidUtf8(new Uint8Array([0x61, 0xff])); // 1
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (i + k >= n) return i;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

const ENCODING_HINT = 're-encode the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`';

/** The `E_TEXT_ENCODING` error for the bad byte at `at` of `bytes` (lines before `bytes` counted in `lineBase`). */
function encodingError(file: string, bytes: Uint8Array, at: number, offsetBase: number, lineBase: number): SwitchyardError {
  let line = lineBase;
  for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
  const hex = bytes[at]?.toString(16).padStart(2, '0') ?? '??';
  return new SwitchyardError('E_TEXT_ENCODING', `${file}:${line}: byte ${offsetBase + at} (0x${hex}) is not valid UTF-8 (Latin-1 or Windows-1252 text?)`, ENCODING_HINT);
}

/**
 * Decodes strict UTF-8 (a leading byte order mark dropped), throwing `E_TEXT_ENCODING` with `file:line` and the
 * byte offset of the first bad byte.
 *
 * @param file the file the bytes came from (for the message)
 * @param bytes the whole file
 * @example
 * decodeUtf8('a.txt', Uint8Array.of(0x44, 0x72, 0xe9)); // throws: a.txt:1: byte 2 (0xe9) is not valid UTF-8 ...
 */
export function decodeUtf8(file: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw encodingError(file, bytes, Math.max(0, firstInvalidUtf8(bytes)), 0, 1);
  }
}

/**
 * Strict UTF-8 decoding of a file read in chunks: {@link Utf8StreamDecoder.push} each chunk, then
 * {@link Utf8StreamDecoder.end}; invalid UTF-8 throws `E_TEXT_ENCODING` naming `file:line`.
 *
 * @example
 * const d = new Utf8StreamDecoder('t.csv');
 * for await (const chunk of createReadStream('t.csv')) parser.push(d.push(chunk));
 * d.end();
 */
export class Utf8StreamDecoder {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  /** Bytes of earlier chunks, and the newlines among them. */
  private offset = 0;
  private lines = 1;
  /** The tail of the previous chunk (an incomplete sequence may start there). */
  private tail: Uint8Array = new Uint8Array(0);

  constructor(private readonly file: string) {}

  /** Decodes the next chunk (an incomplete trailing sequence waits for the next one). */
  push(chunk: Uint8Array): string {
    try {
      const text = this.decoder.decode(chunk, { stream: true });
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a) this.lines++;
      this.offset += chunk.length;
      // Keep the last bytes that may start a sequence (continuation bytes alone belong to a finished one).
      let t = Math.max(0, chunk.length - 3);
      while (t < chunk.length && (chunk[t] & 0xc0) === 0x80) t++;
      this.tail = chunk.subarray(t);
      return text;
    } catch {
      throw this.error(chunk);
    }
  }

  /** Ends the stream: a sequence cut off at the end of the file is an error. */
  end(): string {
    try {
      return this.decoder.decode();
    } catch {
      throw this.error(new Uint8Array(0));
    }
  }

  private error(chunk: Uint8Array): SwitchyardError {
    const joined = new Uint8Array(this.tail.length + chunk.length);
    joined.set(this.tail);
    joined.set(chunk, this.tail.length);
    // The tail's newlines are already counted: find the bad byte in tail + chunk, then count lines from there.
    let tailLines = 0;
    for (const b of this.tail) if (b === 0x0a) tailLines++;
    const at = Math.max(0, firstInvalidUtf8(joined));
    return encodingError(this.file, joined, at, this.offset - this.tail.length, this.lines - tailLines);
  }
}
