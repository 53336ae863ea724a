import { posix } from 'node:path';
import { pipeline, Transform, type Readable } from 'node:stream';
import type ExcelJS from 'exceljs';
import type { File } from 'unzipper';
import { AppError } from '../errors.js';
import { readHead, startsWith, type ReadableFile } from './file.js';
import { isBlank, tableOf, type RowBatch, type Table } from './table.js';

/**
 * The parts of exceljs's streaming WorkbookReader that each read one part of the archive. Its own `parse()`
 * reads the archive in one pass, in stored order, and sometimes loses the last entry (exceljs/exceljs#3064:
 * unzipper's Parse reports its end while an entry is still buffered). exceljs writes `xl/workbook.xml`
 * last, so such workbooks failed now and then with "Cannot read properties of undefined (reading
 * 'sheets')". Here every part is opened by its offset from the central directory, the ones a sheet depends
 * on first, and exceljs reads each of them as its `parse()` would, so cells (shared strings, dates by their
 * style) read the same.
 */
interface WorkbookParts {
  workbookRels?: { Id: string; Type: string; Target: string }[];
  /** The workbook's shared texts, which cells of type "s" name by their index. */
  sharedStrings?: unknown[];
  model?: { sheets?: { name: string; rId: string; state?: string }[] };
  /** The reader of the workbook's `workbookPr` element, holding what it read. */
  properties?: { model?: { date1904?: boolean } };
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseSharedStrings(entry: Readable): AsyncIterable<unknown>;
  _parseStyles(entry: Readable): Promise<void>;
  _parseWorksheet(entry: Readable, id: string): Iterable<{ eventType: string; value: ExcelJS.stream.xlsx.WorksheetReader }>;
}

/**
 * The most a part read whole into memory (shared strings, styles, the workbook and its relationships) may
 * unpack to. A zip can unpack a thousandfold: a small upload could otherwise fill the process's memory.
 * A 1,000,000-row workbook with a distinct text in every row keeps ~30 MB of shared strings (the benchmark's
 * workbook: 150,000 distinct texts in 4.4 MB).
 */
const WHOLE_PART_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The most a row of the sheet may unpack to, as a CSV record may be 1 MB long: the sheet streams, but exceljs
 * gathers a row, and a cell, whole; a zip unpacking a thousandfold could otherwise fill the process's memory
 * through a single cell.
 */
const MAX_ROW_BYTES = 1024 * 1024;

export interface Sheet {
  /** The sheet's name, as its tab shows it. */
  name: string;
  /** Whether the workbook counts days from 1904 (old Mac Excel) rather than 1900. */
  date1904: boolean;
  rows: AsyncIterable<ExcelJS.Row>;
  /** Stops reading the sheet. */
  close(): void;
}

/**
 * One worksheet of an XLSX workbook: the one named `sheetName` (compared ignoring case and the spaces around
 * it), or else the first visible one in tab order (the one a person sees when opening it); its rows streamed
 * as the sheet's part is read. Only the archive's directory and the parts the sheet needs are read, each from
 * its own offset. A file that is no workbook fails with what to do about it; a source that fails (a lost
 * database connection) fails the read with its own error.
 */
export async function openSheet(source: ReadableFile, sheetName?: string): Promise<Sheet> {
  const reading = readingOf(source);
  try {
    // Loaded on the first workbook only: exceljs adds ~30 MB to a process that never reads one.
    const [{ Open }, { default: excel }] = await Promise.all([import('unzipper'), import('exceljs')]);
    const directory = await Promise.race([Open.custom({ size: () => Promise.resolve(source.byteSize), stream: reading.open }), reading.failed]);
    const parts = new Map(directory.files.map((file) => [file.path, file]));
    const workbookPart = parts.get('xl/workbook.xml');
    const relsPart = parts.get('xl/_rels/workbook.xml.rels');
    if (!workbookPart || !relsPart) {
      throw new AppError('unsupported_media_type', `${source.filename} is a zip archive but not an Excel workbook (it has no xl/workbook.xml). Upload an .xlsx workbook or a CSV file.`);
    }

    // No input: only parse(), which is not used, reads it.
    const workbook = new excel.stream.xlsx.WorkbookReader(undefined as never, { sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', worksheets: 'emit', entries: 'ignore' }) as unknown as WorkbookParts;
    await reading.within(relsPart, workbook._parseRels(reading.wholePart(relsPart)));
    await reading.within(workbookPart, workbook._parseWorkbook(reading.wholePart(workbookPart)));
    const sharedStrings = parts.get('xl/sharedStrings.xml');
    if (sharedStrings) {
      // With `sharedStrings: 'cache'` this yields nothing: it fills the workbook's table of strings.
      await reading.within(sharedStrings, (async () => {
        for await (const _ of workbook._parseSharedStrings(reading.wholePart(sharedStrings))) continue;
      })());
    }
    const styles = parts.get('xl/styles.xml');
    if (styles) await reading.within(styles, workbook._parseStyles(reading.wholePart(styles)));

    // Tabs that are charts (chartsheets) or dialogs hold no rows.
    const worksheets = new Set((workbook.workbookRels ?? []).filter((rel) => /\/worksheet$/.test(rel.Type)).map((rel) => rel.Id));
    const cellSheets = (workbook.model?.sheets ?? []).filter((candidate) => worksheets.has(candidate.rId));
    const sheet = sheetName === undefined ? cellSheets.find((candidate) => candidate.state !== 'hidden' && candidate.state !== 'veryHidden') : cellSheets.find((candidate) => sameSheetName(candidate.name, sheetName));
    if (!sheet && sheetName !== undefined) {
      const names = cellSheets.map((candidate) => `“${candidate.name}”`).join(', ') || 'none';
      throw new AppError('validation_failed', `${source.filename} has no sheet named “${sheetName}” (its sheets: ${names}). Rename the sheet that holds the data to “${sheetName}”, save the workbook and send it again.`, {
        sheet: sheetName,
        sheets_found: cellSheets.map((candidate) => candidate.name),
      });
    }
    if (!sheet) throw new AppError('validation_failed', `${source.filename} has no visible sheet of cells. Unhide the sheet that holds the data (or add one), save the workbook and upload it again.`);
    const sheetPart = sheetPartOf(parts, workbook.workbookRels ?? [], sheet.rId);
    if (!sheetPart) throw new AppError('validation_failed', `${source.filename} lists the sheet “${sheet.name}” but does not contain it. Open the workbook in Excel, save it again and upload that.`);

    // A cell naming a shared text the workbook does not hold (its table cut short, missing or not XML) was
    // read as empty: a damaged file lost its texts without a word.
    workbook.sharedStrings = heldTexts(workbook.sharedStrings ?? [], (index) =>
      new AppError(
        'validation_failed',
        `${source.filename} is damaged: its sheet “${sheet.name}” has a cell whose text should be number ${Number.isNaN(index) ? '(none given)' : index + 1} of the workbook's ${workbook.sharedStrings?.length ?? 0} shared texts, which the workbook does not hold. ${SAVE_AGAIN}`,
      ),
    );
    const sheetXml = withRowsUnder(reading.part(sheetPart), MAX_ROW_BYTES, source.filename);
    const [emitted] = workbook._parseWorksheet(sheetXml, sheet.rId);
    const worksheet = emitted!.value;
    return {
      name: sheet.name,
      date1904: workbook.properties?.model?.date1904 === true,
      rows: (async function* () {
        try {
          yield* worksheet;
        } catch (error) {
          throw reading.explain(error, { part: sheetPart.path, sheet: sheet.name });
        }
      })(),
      close: () => sheetXml.destroy(),
    };
  } catch (error) {
    throw reading.explain(error);
  }
}

/**
 * Reading a workbook's parts from its source. unzipper pipes the source's streams without listening for
 * their errors (an unheard 'error' ends the process), so a failing source is heard here: it fails the parts
 * being read and the wait for the archive's directory.
 */
function readingOf(source: ReadableFile) {
  const parts = new Set<Readable>();
  let sourceFailure: Error | undefined;
  let fail!: (error: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  return {
    failed,
    open(offset: number): Readable {
      return source.open(offset).on('error', (error) => {
        sourceFailure ??= error;
        fail(error);
        for (const part of parts) part.destroy(error);
      });
    },
    part(file: File): Readable {
      const part = file.stream();
      parts.add(part);
      part.once('close', () => parts.delete(part));
      return part;
    },
    /**
     * A part that is kept whole in memory, refused past WHOLE_PART_MAX_BYTES: by the size the archive's
     * directory gives, and by the bytes it actually unpacks to (the directory can lie).
     */
    wholePart(file: File): Readable {
      const tooLarge = () =>
        new AppError('validation_failed', `${source.filename} is too large to read as a workbook: its ${file.path} unpacks to more than ${WHOLE_PART_MAX_BYTES / 1024 / 1024} MB. Save the sheet as CSV and upload that.`);
      if (file.uncompressedSize > WHOLE_PART_MAX_BYTES) throw tooLarge();
      let unpacked = 0;
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          unpacked += chunk.length;
          done(unpacked > WHOLE_PART_MAX_BYTES ? tooLarge() : null, chunk);
        },
      });
      // A failure of either fails the other, and a reader that stops stops both; the error reaches the reader.
      return pipeline(this.part(file), counted, () => undefined);
    },
    /** Reading `file` with `work`: a failure is explained with the part it happened in. */
    async within<T>(file: File, work: Promise<T>): Promise<T> {
      try {
        return await work;
      } catch (error) {
        throw this.explain(error, { part: file.path });
      }
    },
    /**
     * The source's own failure as it is; anything else means the file is not a workbook we can read, said in
     * words of the file (damaged archive, a part that is not XML, cells that cannot be placed), never in the
     * libraries' own (which read like "Cannot read properties of undefined"). The library's error is kept as
     * the cause, for whoever debugs it.
     */
    explain(error: unknown, where: { part?: string; sheet?: string } = {}): Error {
      if (sourceFailure) return sourceFailure;
      if (error instanceof AppError) return error;
      return Object.assign(new AppError('validation_failed', unreadableWorkbook(source.filename, error, where)), { cause: error });
    },
  };
}

const sameSheetName = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** The shared texts, refusing (with `missing`) an index they do not hold instead of answering undefined. */
function heldTexts(texts: unknown[], missing: (index: number) => AppError): unknown[] {
  return new Proxy(texts, {
    get(target, property, receiver) {
      if (typeof property === 'string' && (property === 'NaN' || /^\d+$/.test(property)) && !(Number(property) < target.length)) throw missing(Number(property));
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

const SAVE_AGAIN = 'Open it in Excel (or the program that made it), save it again as .xlsx and upload that, or upload it as CSV.';

/** What is wrong with a workbook that failed to read, from the failure of the library that read it. */
function unreadableWorkbook(filename: string, error: unknown, where: { part?: string; sheet?: string }): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  // unzipper's "FILE_ENDED" and "invalid signature", zlib's inflate errors: the zip archive itself is broken.
  if (/^FILE_ENDED$|invalid signature|corrupt|unexpected end of file|incorrect header check|invalid (stored block lengths|distance|code|literal|block type)/i.test(message) || (typeof code === 'string' && code.startsWith('Z_'))) {
    return `${filename} is damaged or incomplete: an .xlsx workbook is a zip archive, and this one is cut short or corrupt (it may have been cut off while it was downloaded or copied). ${SAVE_AGAIN}`;
  }
  // The XML parser's errors start with the line and column.
  const xml = /^(\d+):(\d+): /.exec(message);
  if (xml) {
    return `${filename} is damaged: its part ${where.part ?? 'of the workbook'} is not well-formed XML (at line ${xml[1]}, column ${xml[2]}). ${SAVE_AGAIN}`;
  }
  if (where.sheet) {
    return `${filename}'s sheet “${where.sheet}” has cells or rows that cannot be placed (without their addresses, or at addresses past the sheet's last column), as some programs write them. ${SAVE_AGAIN}`;
  }
  return `${filename} could not be read as an Excel workbook: it may be damaged, or written in a way Backhouse cannot read. ${SAVE_AGAIN}`;
}

/**
 * The sheet's bytes, failing once more than `maxBytes` pass without a row ending. Row ends are found as
 * `row>` (which `</row>` and a prefixed `</x:row>` both end with): text that happens to contain it only
 * makes the check more lenient.
 */
function withRowsUnder(sheet: Readable, maxBytes: number, filename: string): Readable {
  const marker = Buffer.from('row>');
  let rowsEnded = 0;
  let sinceRowEnd = 0;
  // The last bytes before this chunk, for a marker that straddles two chunks.
  let tail: Buffer = Buffer.alloc(0);
  const guarded = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      // Where in the chunk the last row end seen ends.
      let lastEnd = -1;
      const seam = Buffer.concat([tail, chunk.subarray(0, marker.length - 1)]).indexOf(marker);
      if (seam !== -1) {
        rowsEnded++;
        lastEnd = seam + marker.length - tail.length;
      }
      for (let at = chunk.indexOf(marker, Math.max(lastEnd, 0)); at !== -1; at = chunk.indexOf(marker, lastEnd)) {
        rowsEnded++;
        lastEnd = at + marker.length;
      }
      sinceRowEnd = lastEnd === -1 ? sinceRowEnd + chunk.length : chunk.length - lastEnd;
      const keep = marker.length - 1;
      tail = lastEnd === -1 ? Buffer.concat([tail, chunk]).subarray(-keep) : chunk.subarray(Math.max(lastEnd, chunk.length - keep));
      if (sinceRowEnd <= maxBytes) return done(null, chunk);
      done(
        new AppError(
          'validation_failed',
          `The row after the first ${rowsEnded} rows of ${filename}'s sheet unpacks to more than ${maxBytes / 1024 / 1024} MB: a cell holds far more than a feed's value, or the file is not a real workbook. Save the sheet as CSV and upload that.`,
        ),
      );
    },
  });
  return pipeline(sheet, guarded, () => undefined);
}

/** The part a workbook relationship points to: targets are relative to `xl/`, or absolute within the archive. */
function sheetPartOf(parts: Map<string, File>, rels: { Id: string; Target: string }[], relId: string): File | undefined {
  const target = rels.find((rel) => rel.Id === relId)?.Target;
  if (!target) return undefined;
  return parts.get(target.startsWith('/') ? target.slice(1) : posix.normalize(posix.join('xl', target)));
}

export const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
/** A zip archive with nothing in it starts with its end-of-directory record. */
export const EMPTY_ZIP_MAGIC = [0x50, 0x4b, 0x05, 0x06];
export const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0];

/**
 * Refuses a file in a container that is not an .xlsx workbook but is taken for one: an empty zip archive, a
 * password-protected workbook, an old .xls. Anything else passes (to be read as a workbook or as text).
 */
export async function refuseOtherContainers(source: ReadableFile, head: Buffer): Promise<void> {
  if (startsWith(head, EMPTY_ZIP_MAGIC)) {
    throw new AppError('validation_failed', `${source.filename} is an empty zip archive, not a workbook. Upload the .xlsx workbook (or CSV file) that holds the data.`);
  }
  if (startsWith(head, OLE_MAGIC)) {
    // A password-protected .xlsx is kept encrypted inside the same container format as an old .xls.
    if (await isPasswordProtected(source, head)) {
      throw new AppError(
        'unsupported_media_type',
        `${source.filename} is protected with a password, and Backhouse cannot open it. Open it in Excel, remove the password (File › Info › Protect Workbook › Encrypt with Password, then clear it), save it and upload it again, or upload it as CSV.`,
        { reason: 'password_protected' },
      );
    }
    throw new AppError('unsupported_media_type', `${source.filename} is an old Excel (.xls) workbook. Open it in Excel and save it as .xlsx or CSV, then upload that.`, { reason: 'old_xls' });
  }
}

/**
 * Whether an OLE compound file is an encrypted Office document: its directory names the stream
 * "EncryptedPackage". The directory starts at the sector the header names (it may lie past the head).
 */
async function isPasswordProtected(source: ReadableFile, head: Buffer): Promise<boolean> {
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


/** A cell as the sheet holds it: text, a number, true or false, a date (a number formatted as one), or nothing. */
export type CellValue = string | number | boolean | Date | null;

/**
 * The cells of a row (index 0 is column A), each formula replaced by the value the program that saved the
 * workbook calculated. A formula without one (written by a program that does not calculate, or saved with
 * calculation off) is refused: read as empty, its figures would be lost without a word.
 */
export function rowValues(row: ExcelJS.Row, sheet: Pick<Sheet, 'name' | 'date1904'>, filename: string): CellValue[] {
  const values = row.values as ExcelJS.CellValue[];
  const cells = new Array<CellValue>(Math.max(values.length - 1, 0));
  for (let column = 1; column < values.length; column++) {
    const value = values[column];
    if (value !== null && typeof value === 'object' && !(value instanceof Date) && 'formula' in value) {
      const result = (value as { result?: ExcelJS.CellValue }).result;
      if (result === undefined) throw formulaWithoutValue(filename, sheet.name, row.getCell(column).address, (value as { formula?: string }).formula ?? '');
      cells[column - 1] = typeof result === 'number' && isDateFormat(row.getCell(column).numFmt) ? excelSerialToDate(result, sheet.date1904) : plainValue(result);
    } else cells[column - 1] = plainValue(value);
  }
  return cells;
}

function plainValue(value: ExcelJS.CellValue | undefined): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || value instanceof Date) return value;
  if ('richText' in value) return value.richText.map((part) => part.text).join('');
  if ('text' in value) return String(value.text);
  // An error value (#DIV/0!, #N/A) stands for no value.
  return null;
}

/** A cell as text: dates as ISO dates (with the time when there is one), numbers as JavaScript writes them. */
export function cellText(value: CellValue): string {
  if (value === null) return '';
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  return String(value);
}

/** Whether a number format shows a date or a time (as Excel decides: day, month, year, hour or second letters outside quotes and brackets). */
function isDateFormat(format: string | undefined): boolean {
  if (!format) return false;
  return /[ymdhsb]/i.test(format.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, ''));
}

/** The instant an Excel serial number stands for, read as UTC (day 25569 is 1970-01-01; 1904-based workbooks count 1462 days fewer). */
export function excelSerialToDate(serial: number, date1904 = false): Date {
  return new Date(Math.round((serial - 25569 + (date1904 ? 1462 : 0)) * 86_400_000));
}

function formulaWithoutValue(filename: string, sheet: string, address: string, formula: string): AppError {
  const shown = formula ? ` (=${formula.length > 60 ? `${formula.slice(0, 57)}…` : formula})` : '';
  return new AppError(
    'validation_failed',
    `${filename}'s sheet “${sheet}” has a formula in cell ${address}${shown} whose value was never calculated: the program that wrote the workbook saved the formula without its result. Open the workbook in Excel (or LibreOffice), let it calculate, save it and send it again; or paste the column as values.`,
    { sheet, cell: address, reason: 'formula_without_value' },
  );
}

/** Workbook rows handed on together (exceljs reads them one by one). */
const XLSX_BATCH_ROWS = 256;

export function openXlsx(source: ReadableFile, checkColumns: (cells: string[], rowNumber: number) => void): Table {
  let sheet: Sheet | undefined;
  let closed = false;
  return tableOf({
    format: 'xlsx',
    headers: [],
    batches: (async function* () {
      sheet = await openSheet(source);
      if (closed) {
        sheet.close();
        return;
      }
      let batch: RowBatch = { rowNumbers: [], cells: [] };
      let rowsRead = 0;
      for await (const row of sheet.rows) {
        const cells = Array.from(rowValues(row, sheet, source.filename), (value) => cellText(value ?? null));
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
