/**
 * GPT-2's byte-to-unicode map, which Hugging Face byte-level tokenizers use to write byte strings as text:
 * printable Latin-1 bytes stand for themselves, the other 68 bytes for U+0100.. in byte order (space is `Ġ`).
 */

/** `BYTE_CHARS[b]` is the character that stands for byte `b`. */
const BYTE_CHARS: string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) out.push(String.fromCharCode(printable(b) ? b : next++));
  return out;
})();

const CHAR_BYTES = new Map<string, number>(BYTE_CHARS.map((c, b) => [c, b]));

/**
 * The byte-level string of `bytes` (one character per byte), as the vocabularies of `tokenizer.json` files spell it.
 *
 * @example
 * bytesToByteLevel(new TextEncoder().encode(' the')); // 'Ġthe'
 */
export function bytesToByteLevel(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_CHARS[bytes[i]];
  return s;
}

/**
 * The bytes a byte-level string stands for, or null when a character is not one of the 256 byte characters
 * (e.g. a special token such as `<｜end▁of▁sentence｜>`).
 *
 * @example
 * byteLevelToBytes('Ġthe'); // Uint8Array [32, 116, 104, 101]
 * byteLevelToBytes('日');   // null
 */
export function byteLevelToBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = CHAR_BYTES.get(s[i]);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}

/**
 * The character that stands for byte `b` (0..255).
 *
 * @example
 * byteChar(32); // 'Ġ'
 */
export function byteChar(b: number): string {
  return BYTE_CHARS[b];
}
