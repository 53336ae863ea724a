import { Readable, Transform, pipeline } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { AppError } from '../errors.js';
import { createDecoder, detectEncoding, TextDecoding } from './encoding.js';
import type { ReadableFile } from './file.js';
import { isBlank, tableOf, type RowBatch, type Table } from './table.js';

/** The delimiter of a CSV from its first lines: the candidate that splits them into the most equal columns. */
export function sniffDelimiter(text: string): string {
  const lines = splitLogicalLines(text).slice(0, 20).filter((line) => line.trim() !== '');
  let best = ',';
  let bestScore = 0;
  for (const candidate of [',', ';', '\t', '|']) {
    const counts = lines.map((line) => countOutsideQuotes(line, candidate));
    const first = counts[0] ?? 0;
    if (first === 0) continue;
    const consistent = counts.filter((count) => count === first).length;
    const score = consistent * 1000 + first;
    if (score > bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/** Lines, keeping quoted newlines inside their line. */
function splitLogicalLines(text: string): string[] {
  const lines: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if ((char === '\n' || char === '\r') && !quoted) {
      if (current) lines.push(current);
      current = '';
    } else current += char;
  }
  if (current) lines.push(current);
  // The last line may be cut off mid-way.
  return lines.length > 1 ? lines.slice(0, -1) : lines;
}

function countOutsideQuotes(line: string, delimiter: string): number {
  let count = 0;
  let quoted = false;
  for (const char of line) {
    if (char === '"') quoted = !quoted;
    else if (char === delimiter && !quoted) count++;
  }
  return count;
}

/** Bytes in the file's encoding to text, without its byte-order mark; split characters are kept whole. */
function decoderStream(decoder: TextDecoding, bomLength: number): Transform {
  let skip = bomLength;
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _encoding, done) {
      let bytes = chunk;
      if (skip > 0) {
        const cut = Math.min(skip, bytes.length);
        bytes = bytes.subarray(cut);
        skip -= cut;
      }
      const text = decoder.decode(bytes);
      done(null, text || undefined);
    },
    flush(done) {
      done(null, decoder.decode(new Uint8Array(0), true) || undefined);
    },
  });
}

export function openCsv(source: ReadableFile, head: Buffer, checkColumns: (cells: string[], rowNumber: number) => void): Table {
  const { encoding, bomLength } = detectEncoding(head);
  const sampleText = createDecoder(encoding).decode(head.subarray(bomLength));
  const delimiter = sniffDelimiter(sampleText);
  const decoding = new TextDecoding(encoding, bomLength);
  const text = decoderStream(decoding, bomLength);
  // pipeline() passes a failing read (a lost database connection) on to the decoder, whose reader then fails,
  // and tears everything down when the reader stops early; stopping early is not an error.
  pipeline(source.open(), text, () => undefined);
  return tableOf({
    format: 'csv',
    decoding,
    delimiter,
    headers: [],
    batches: (async function* () {
      let index = 0;
      for await (const records of csvRecords(text, delimiter, source.filename)) {
        const batch: RowBatch = { rowNumbers: [], cells: [] };
        for (const cells of records) {
          index++;
          if (isBlank(cells)) continue;
          checkColumns(cells, index);
          batch.rowNumbers.push(index);
          batch.cells.push(cells);
        }
        if (batch.cells.length > 0) yield batch;
      }
    })(),
    close: () => {
      if (!text.destroyed) text.destroy();
    },
  });
}

/**
 * The records of CSV text, in batches. Text without quote characters is split on line breaks and the
 * delimiter, which is all that CSV does to it and several times faster than a general parser on the
 * million-row files of large feeds. From the first chunk with a quote (or with line breaks other than the
 * file's first one) on, csv-parse reads the rest, so quoted fields, embedded line breaks and odd files are
 * read exactly as before. Empty lines are skipped, as csv-parse's skip_empty_lines does.
 */
async function* csvRecords(text: AsyncIterable<string>, delimiter: string, filename: string): AsyncGenerator<string[][]> {
  const chunks = text[Symbol.asyncIterator]();
  let carry = '';
  let lineBreak: '\n' | '\r\n' | null = null;
  let recordsRead = 0;
  for (;;) {
    const next = await chunks.next();
    const chunk = carry + (next.done ? '' : next.value);
    if (lineBreak === null) {
      const newline = chunk.indexOf('\n');
      if (newline >= 0) lineBreak = chunk[newline - 1] === '\r' ? '\r\n' : '\n';
      // A single line without a break at its end.
      else if (next.done) lineBreak = '\n';
    }
    const end = next.done ? chunk.length : chunk.lastIndexOf('\n') + 1;
    const records = lineBreak === null ? (chunk.includes('"') || chunk.includes('\r') ? null : []) : splitPlain(chunk.slice(0, end), delimiter, lineBreak);
    if (records === null) {
      yield* parseRest(chunk, chunks, delimiter, lineBreak, (row) => recordTooLong(filename, recordsRead + row));
      return;
    }
    recordsRead += records.length;
    if (records.length > 0) yield records;
    carry = chunk.slice(end);
    if (carry.length > MAX_RECORD_CHARS) throw recordTooLong(filename, recordsRead + 1);
    if (next.done) return;
  }
}

/**
 * The longest record read. A file with no line breaks in it (or that is no CSV at all) is refused here,
 * not gathered into one record: each chunk would be added to it and the whole scanned again, and a 50 MB
 * line took 72 s of the process's only thread.
 */
const MAX_RECORD_CHARS = 1024 * 1024;

function recordTooLong(filename: string, row: number): AppError {
  return new AppError(
    'validation_failed',
    `Row ${row} of ${filename} is longer than 1 MB: its line breaks may be missing, a quote may be left open, or it may not be a CSV file. Check it in a text editor or save it again as CSV, then upload it again.`,
  );
}

/** Lines without quotes split into fields; null when the text needs the full parser. */
function splitPlain(body: string, delimiter: string, lineBreak: '\n' | '\r\n'): string[][] | null {
  if (body.includes('"')) return null;
  const lines = body.split('\n');
  const records: string[][] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (lineBreak === '\r\n') {
      // The last line of the file may end without a line break.
      if (line.endsWith('\r')) line = line.slice(0, -1);
      else if (i < lines.length - 1) return null;
    }
    // csv-parse refuses a record over MAX_RECORD_CHARS with its row number (a long line can come whole in one chunk).
    if (line.includes('\r') || line.length > MAX_RECORD_CHARS) return null;
    if (line !== '') records.push(line.split(delimiter));
  }
  return records;
}

/** csv-parse over `first` and the chunks after it; `tooLong` names a record over MAX_RECORD_CHARS by its number among them. */
async function* parseRest(first: string, rest: AsyncIterator<string>, delimiter: string, lineBreak: '\n' | '\r\n' | null, tooLong: (row: number) => AppError): AsyncGenerator<string[][]> {
  const parser = parseCsv({ delimiter, relax_column_count: true, skip_empty_lines: true, relax_quotes: true, max_record_size: MAX_RECORD_CHARS, ...(lineBreak ? { record_delimiter: lineBreak } : {}) });
  const input = Readable.from(
    (async function* () {
      yield first;
      for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
    })(),
  );
  pipeline(input, parser, () => undefined);
  try {
    // Records are taken as many as the parser holds at a time: one promise per batch, not per row.
    yield* drain<string[]>(parser);
  } catch (error) {
    const { code, records } = error as { code?: string; records?: number };
    throw code === 'CSV_MAX_RECORD_SIZE' ? tooLong((records ?? 0) + 1) : error;
  } finally {
    parser.destroy();
  }
}

/** The records of an object stream in the batches it has buffered, ending when it ends, failing when it fails. */
async function* drain<T>(stream: Readable): AsyncGenerator<T[]> {
  for (;;) {
    const batch: T[] = [];
    for (let record = stream.read() as T | null; record !== null; record = stream.read() as T | null) batch.push(record);
    if (batch.length > 0) {
      yield batch;
      continue;
    }
    if (stream.readableEnded || stream.destroyed) {
      if (stream.errored) throw stream.errored;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const settle = () => {
        stream.off('readable', settle);
        stream.off('end', settle);
        stream.off('close', settle);
        stream.off('error', fail);
        resolve();
      };
      const fail = (error: Error) => {
        settle();
        reject(error);
      };
      stream.once('readable', settle);
      stream.once('end', settle);
      stream.once('close', settle);
      stream.once('error', fail);
    });
  }
}
