import { PassThrough, Readable, Transform, pipeline } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import type ExcelJS from 'exceljs';
import { AppError } from '../errors.js';
import { createDecoder, detectEncoding, TextDecoding, type TextEncodingName } from './encoding.js';
import { openFirstSheet, type FirstSheet } from './workbook.js';

/** A file that can be read as many times as needed, from any offset (an upload kept in PostgreSQL). */
export interface FileSource {
  filename: string;
  byteSize: number;
  /** The bytes from `offset` (the start by default) to the end: a workbook's parts are read from their offsets. */
  open(offset?: number): Readable;
}

/**
 * A file source that counts the bytes read since it was last opened from the start (a workbook's parts are
 * then opened at their offsets): the share of the file read so far.
 */
export function countingSource(source: FileSource): FileSource & { bytesRead(): number } {
  let bytes = 0;
  return {
    filename: source.filename,
    byteSize: source.byteSize,
    open(offset = 0) {
      if (offset === 0) bytes = 0;
      const counter = new PassThrough();
      counter.on('data', (chunk: Buffer) => (bytes += chunk.length));
      const raw = source.open(offset);
      raw.on('error', (error) => counter.destroy(error));
      return raw.pipe(counter);
    },
    bytesRead: () => bytes,
  };
}

export interface TableRow {
  /** Spreadsheet row number: the header is row 1, the first data row is row 2. */
  rowNumber: number;
  cells: string[];
}

/**
 * Rows read together, their numbers and cells side by side. A row is not an object of its own here: V8
 * allocates straight into the old generation from a site whose objects mostly outlive a young collection,
 * and a batch held across one (most likely the rows kept as a sample) sent every later row object there, and with them the
 * cells they point to, until a full collection: a million-row commit grew the heap by ~200 MB.
 */
export interface RowBatch {
  rowNumbers: number[];
  cells: string[][];
}

export interface Table {
  format: 'csv' | 'xlsx';
  /** A CSV's encoding: the one detected from its head, until bytes read later show another. */
  readonly encoding?: TextEncodingName;
  /** A CSV's decoding, whose encoding and warning are final once every row is read. */
  decoding?: TextDecoding;
  delimiter?: string;
  headers: string[];
  /** The rows in the batches they are read in: one promise per batch, not per row (a million rows). */
  batches: AsyncIterable<RowBatch>;
  /** The same rows one at a time. Both read the same stream: use one of the two. */
  rows: AsyncIterable<TableRow>;
  /** Stops reading (the preview reads only what it shows). */
  close(): void;
}

export interface ReadLimits {
  /**
   * Columns a row may have, to its last non-empty cell. A wider file is refused at its header, before its
   * rows are gathered: a 10,000-column file grew the process by 135 MB that was never given back.
   */
  maxColumns?: number;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
/** A zip archive with nothing in it starts with its end-of-directory record. */
const EMPTY_ZIP_MAGIC = [0x50, 0x4b, 0x05, 0x06];
const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0];

/**
 * Opens a CSV (any of our encodings and delimiters) or the first sheet of an XLSX workbook as a
 * stream of rows. Memory stays flat: rows are produced as the bytes arrive.
 */
export async function openTable(source: FileSource, limits: ReadLimits = {}): Promise<Table> {
  const head = await readHead(source.open(), 64 * 1024);
  if (head.length === 0) throw new AppError('validation_failed', `${source.filename} is empty. Upload a file with a header row and at least one data row.`);
  const checkColumns = columnCheck(source.filename, limits.maxColumns);
  if (startsWith(head, ZIP_MAGIC)) return openXlsx(source, checkColumns);
  if (startsWith(head, EMPTY_ZIP_MAGIC)) {
    throw new AppError('validation_failed', `${source.filename} is an empty zip archive, not a workbook. Upload the .xlsx workbook (or CSV file) that holds the data.`);
  }
  if (startsWith(head, OLE_MAGIC)) {
    // A password-protected .xlsx is kept encrypted inside the same container format as an old .xls.
    if (await isPasswordProtected(source, head)) {
      throw new AppError(
        'unsupported_media_type',
        `${source.filename} is protected with a password, and Backhouse cannot open it. Open it in Excel, remove the password (File › Info › Protect Workbook › Encrypt with Password, then clear it), save it and upload it again, or upload it as CSV.`,
      );
    }
    throw new AppError('unsupported_media_type', `${source.filename} is an old Excel (.xls) workbook. Open it in Excel and save it as .xlsx or CSV, then upload that.`);
  }
  return openCsv(source, head, checkColumns);
}

/** Refuses a row with more than `maxColumns` columns (to its last non-empty cell): the first one read is the header. */
function columnCheck(filename: string, maxColumns: number | undefined): (cells: string[], rowNumber: number) => void {
  let headerRead = false;
  return (cells, rowNumber) => {
    const isHeader = !headerRead;
    headerRead = true;
    if (maxColumns === undefined || cells.length <= maxColumns) return;
    let columns = cells.length;
    while (columns > 0 && cells[columns - 1]!.trim() === '') columns--;
    if (columns <= maxColumns) return;
    const count = columns.toLocaleString('en');
    const limit = maxColumns.toLocaleString('en');
    throw new AppError(
      'validation_failed',
      isHeader
        ? `${filename} has ${count} columns, more than the ${limit} a file may have. Keep only the columns you need (delete the others, or copy those into a new sheet) and upload it again.`
        : `Row ${rowNumber} of ${filename} has ${count} cells, more than the ${limit} columns a file may have. Check that row: its delimiters may be wrong, or cells may have been pasted past the table.`,
      { max_columns: maxColumns, columns_found: columns, row: rowNumber },
    );
  };
}

/**
 * Whether an OLE compound file is an encrypted Office document: its directory names the stream
 * "EncryptedPackage". The directory starts at the sector the header names (it may lie past the head).
 */
async function isPasswordProtected(source: FileSource, head: Buffer): Promise<boolean> {
  const name = Buffer.from('EncryptedPackage', 'utf16le');
  if (head.includes(name)) return true;
  if (head.length < 0x34) return false;
  const sectorShift = head.readUInt16LE(0x1e);
  if (sectorShift !== 9 && sectorShift !== 12) return false;
  const sectorSize = 2 ** sectorShift;
  const directory = (head.readUInt32LE(0x30) + 1) * sectorSize;
  if (directory >= source.byteSize) return false;
  return (await readHead(source.open(directory), sectorSize)).includes(name);
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((byte, i) => bytes[i] === byte);
}

async function readHead(stream: Readable, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= bytes) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, bytes);
}

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

const isBlank = (cells: string[]) => cells.every((cell) => cell.trim() === '');

/** Batches of rows, one row at a time (for readers of a few rows: the preview, samples). */
export async function* eachRow(batches: AsyncIterable<RowBatch>): AsyncGenerator<TableRow> {
  for await (const batch of batches) {
    for (let i = 0; i < batch.cells.length; i++) yield { rowNumber: batch.rowNumbers[i]!, cells: batch.cells[i]! };
  }
}

/** A table over its batches, with the row-at-a-time view of them. */
function tableOf(table: Omit<Table, 'rows' | 'encoding'>): Table {
  const { decoding } = table;
  return {
    ...table,
    get encoding() {
      return decoding?.encoding;
    },
    rows: eachRow(table.batches),
  };
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

function openCsv(source: FileSource, head: Buffer, checkColumns: (cells: string[], rowNumber: number) => void): Table {
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

function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if (typeof value === 'object') {
    if ('richText' in value) return value.richText.map((part) => part.text).join('');
    if ('result' in value) return cellText(value.result as ExcelJS.CellValue);
    if ('text' in value) return String(value.text);
    if ('error' in value) return '';
    return '';
  }
  return String(value);
}

/** Workbook rows handed on together (exceljs reads them one by one). */
const XLSX_BATCH_ROWS = 256;

function openXlsx(source: FileSource, checkColumns: (cells: string[], rowNumber: number) => void): Table {
  let sheet: FirstSheet | undefined;
  let closed = false;
  return tableOf({
    format: 'xlsx',
    headers: [],
    batches: (async function* () {
      sheet = await openFirstSheet(source);
      if (closed) {
        sheet.close();
        return;
      }
      let batch: RowBatch = { rowNumbers: [], cells: [] };
      let rowsRead = 0;
      for await (const row of sheet.rows) {
        const values = (row.values as ExcelJS.CellValue[]).slice(1);
        const cells = Array.from(values, (value) => cellText(value));
        if (isBlank(cells)) continue;
        rowsRead++;
        checkColumns(cells, row.number);
        batch.rowNumbers.push(row.number);
        batch.cells.push(cells);
        if (batch.cells.length === XLSX_BATCH_ROWS) {
          yield batch;
          batch = { rowNumbers: [], cells: [] };
        }
      }
      if (batch.cells.length > 0) yield batch;
      if (rowsRead === 0) {
        throw new AppError('validation_failed', `${source.filename}'s first sheet, “${sheet.name}”, is empty. Put the data in the workbook's first visible sheet, the column names in its first row, and upload it again.`);
      }
    })(),
    close: () => {
      closed = true;
      sheet?.close();
    },
  });
}

/** The header row and the rows after it. */
export async function withHeaders(table: Table): Promise<Table> {
  const iterator = table.batches[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new AppError('validation_failed', 'The file has no header row. The first row must name the columns, for example: product_name, quantity, price, transaction_date.');
  const rest: RowBatch = { rowNumbers: first.value.rowNumbers.slice(1), cells: first.value.cells.slice(1) };
  return tableOf({
    ...table,
    headers: first.value.cells[0]!.map((cell) => cell.trim()),
    batches: (async function* () {
      if (rest.cells.length > 0) yield rest;
      yield* { [Symbol.asyncIterator]: () => iterator };
    })(),
  });
}
