/**
 * The incremental RFC 4180 record parser behind `readCsv`: a state machine fed in chunks that cuts
 * fields out of each chunk with `slice` (no quadratic string building), tracks 1-based line and column
 * for error messages, strips a UTF-8 BOM, and auto-detects the delimiter from the first chunk.
 */
import { SwitchyardError } from '../util/errors.ts';

/**
 * Delimiters considered by auto-detection, in order of preference on ties.
 *
 * @example
 * CANDIDATE_DELIMITERS.includes(';'); // true
 */
export const CANDIDATE_DELIMITERS = [',', '\t', ';', '|'] as const;

const enum S {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteSeen,
}

const QUOTE = 34;
const LF = 10;
const CR = 13;
const SAMPLE_CHARS = 65536;
const SAMPLE_LINES = 20;

/**
 * Guesses the delimiter of a text sample: the candidate that appears in the first line and whose count per
 * line (outside quotes) is most often equal to the first line's count. Falls back to `,`.
 *
 * @example
 * detectDelimiter('a;b;c\n1;2;3\n'); // ';'
 */
export function detectDelimiter(sample: string): string {
  const counts: number[][] = [];
  let row = [0, 0, 0, 0];
  let quoted = false;
  for (let i = 0; i < sample.length && counts.length < SAMPLE_LINES; i++) {
    const c = sample.charCodeAt(i);
    if (c === QUOTE) quoted = !quoted;
    else if (quoted) continue;
    else if (c === LF || c === CR) {
      if (row.some((n) => n > 0) || counts.length > 0) counts.push(row);
      row = [0, 0, 0, 0];
      if (c === CR && sample.charCodeAt(i + 1) === LF) i++;
    } else {
      const k = c === 44 ? 0 : c === 9 ? 1 : c === 59 ? 2 : c === 124 ? 3 : -1;
      if (k >= 0) row[k]++;
    }
  }
  if (counts.length === 0) counts.push(row);
  let best = ',';
  let bestScore = -1;
  for (let k = 0; k < CANDIDATE_DELIMITERS.length; k++) {
    const head = counts[0][k];
    if (head === 0) continue;
    const consistent = counts.filter((r) => r[k] === head).length / counts.length;
    const score = consistent * 1000 + Math.min(head, 999);
    if (score > bestScore) {
      bestScore = score;
      best = CANDIDATE_DELIMITERS[k];
    }
  }
  return best;
}

/**
 * Incremental CSV record parser. Feed text with {@link CsvParser.push}, finish with {@link CsvParser.end};
 * every complete record goes to `onRecord(cells, line)` where `line` is the 1-based line it starts on.
 * Blank lines are skipped. Throws `E_CSV_PARSE` (with `file:line:column`) on a stray character after a
 * closing quote or an unterminated quoted field.
 *
 * @example
 * const rows: string[][] = [];
 * const p = new CsvParser('inline.csv', (cells) => rows.push(cells));
 * p.push('a,b\n1,"x');
 * p.push(',y"\n');
 * p.end(); // rows: [['a','b'], ['1','x,y']]
 */
export class CsvParser {
  /** The delimiter in use (`null` until detected from the first chunk). */
  delimiter: string | null;
  private delim = 44;
  private state = S.FieldStart;
  private parts: string[] = [];
  private cells: string[] = [];
  private line = 1;
  private lineStart = 0;
  private base = 0;
  private recordLine = 1;
  private quoteLine = 0;
  private quoteCol = 0;
  private lastWasCR = false;
  private pending: string[] = [];
  private pendingLen = 0;
  private started = false;

  constructor(
    readonly file: string,
    private readonly onRecord: (cells: string[], line: number) => void,
    delimiter?: string,
  ) {
    if (delimiter !== undefined && (delimiter.length !== 1 || '"\r\n'.includes(delimiter))) {
      throw new SwitchyardError('E_CSV_DELIMITER', `${file}: delimiter must be one character other than a quote or line end, got ${JSON.stringify(delimiter)}`, "use ',', ';', '|' or '\\t'");
    }
    this.delimiter = delimiter ?? null;
    if (delimiter !== undefined) this.delim = delimiter.charCodeAt(0);
  }

  /**
   * Feeds the next piece of text (any split point, even inside a quoted field or a CRLF).
   *
   * @example
   * parser.push('a,b\n1,');
   */
  push(chunk: string): void {
    if (!this.started) {
      if (chunk.length === 0) return;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      this.started = true;
    }
    if (this.delimiter === null) {
      this.pending.push(chunk);
      this.pendingLen += chunk.length;
      if (this.pendingLen < SAMPLE_CHARS && countNewlines(this.pending) < SAMPLE_LINES) return;
      this.flushPending();
      return;
    }
    this.feed(chunk);
  }

  /**
   * Signals end of input: emits the last record, or throws `E_CSV_PARSE` if a quote is still open.
   *
   * @example
   * parser.end();
   */
  end(): void {
    if (this.delimiter === null) this.flushPending();
    if (this.state === S.Quoted) {
      throw new SwitchyardError(
        'E_CSV_PARSE',
        `${this.file}:${this.quoteLine}:${this.quoteCol}: unterminated quoted field (the quote opened here is never closed)`,
        'close the quote, or double a literal quote inside a quoted field ("")',
      );
    }
    if (this.state !== S.FieldStart) this.endField('');
    else if (this.cells.length > 0) this.cells.push('');
    if (this.cells.length > 0) this.endRecord();
    this.state = S.FieldStart;
  }

  private flushPending(): void {
    const text = this.pending.join('');
    this.pending = [];
    this.pendingLen = 0;
    this.delimiter = detectDelimiter(text);
    this.delim = this.delimiter.charCodeAt(0);
    this.feed(text);
  }

  private endField(value: string): void {
    if (this.parts.length > 0) {
      this.parts.push(value);
      value = this.parts.join('');
      this.parts = [];
    }
    this.cells.push(value);
  }

  private endRecord(): void {
    const cells = this.cells;
    this.cells = [];
    this.onRecord(cells, this.recordLine);
  }

  private feed(chunk: string): void {
    const d = this.delim;
    const n = chunk.length;
    let state = this.state;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      switch (state) {
        case S.Unquoted:
          if (c === d) {
            this.endField(chunk.slice(start, i));
            state = S.FieldStart;
          } else if (c === LF || c === CR) {
            this.endField(chunk.slice(start, i));
            this.endRecord();
            this.newline(c, i, chunk);
            state = S.FieldStart;
          }
          continue;
        case S.Quoted:
          if (c === QUOTE) {
            this.parts.push(chunk.slice(start, i));
            state = S.QuoteSeen;
          } else if (c === LF || c === CR) {
            this.newline(c, i, chunk);
          }
          continue;
        case S.QuoteSeen:
          if (c === QUOTE) {
            start = i; // an escaped quote: keep one '"' as the start of the next piece
            state = S.Quoted;
          } else if (c === d) {
            this.endField('');
            state = S.FieldStart;
          } else if (c === LF || c === CR) {
            this.endField('');
            this.endRecord();
            this.newline(c, i, chunk);
            state = S.FieldStart;
          } else {
            const col = this.base + i - this.lineStart + 1;
            throw new SwitchyardError(
              'E_CSV_PARSE',
              `${this.file}:${this.line}:${col}: unexpected '${chunk[i]}' after a closing quote`,
              `a quoted field must end at the quote; double a literal quote inside quotes ("") or quote the whole field`,
            );
          }
          continue;
        default: // S.FieldStart
          if (c === LF || c === CR) {
            if (this.cells.length > 0) {
              this.cells.push('');
              this.endRecord();
            }
            this.newline(c, i, chunk);
            continue;
          }
          if (this.cells.length === 0) this.recordLine = this.line;
          if (c === QUOTE) {
            this.quoteLine = this.line;
            this.quoteCol = this.base + i - this.lineStart + 1;
            start = i + 1;
            state = S.Quoted;
          } else if (c === d) {
            this.cells.push('');
          } else {
            start = i;
            state = S.Unquoted;
          }
      }
    }
    if ((state === S.Unquoted || state === S.Quoted) && start < n) this.parts.push(chunk.slice(start));
    this.lastWasCR = n > 0 && chunk.charCodeAt(n - 1) === CR;
    this.base += n;
    this.state = state;
  }

  /** Line bookkeeping for a CR or LF at chunk index `i`; a CRLF pair counts once. */
  private newline(c: number, i: number, chunk: string): void {
    this.lineStart = this.base + i + 1;
    if (c === LF && (i > 0 ? chunk.charCodeAt(i - 1) === CR : this.lastWasCR)) return;
    this.line++;
  }
}

function countNewlines(parts: string[]): number {
  let k = 0;
  for (const p of parts) for (let i = p.indexOf('\n'); i >= 0 && k < SAMPLE_LINES; i = p.indexOf('\n', i + 1)) k++;
  return k;
}

