/**
 * UTF-8 helpers shared by the tokenizers: lossless encoding, lenient decoding (invalid or incomplete
 * sequences become U+FFFD, a leading U+FEFF is kept) and the out-of-range id error.
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
