import fs from 'node:fs';
import type ExcelJS from 'exceljs';
import { AppError } from '../../errors.js';
import { openSheet } from '../../files/workbook.js';

/** A cell as a pipeline reads it: a formula is its saved result, rich text its text, empty null. */
export type CellValue = string | number | boolean | Date | null;

export interface WorkbookRow {
  /** The sheet's row number (the header is usually 1). */
  rowNumber: number;
  /** The row's cells from column A (index 0). */
  values: CellValue[];
}

export interface SheetRows {
  sheetName: string;
  rows: AsyncIterable<WorkbookRow>;
  close(): void;
}

const OLE_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0]);
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/**
 * The rows of a workbook file's first visible sheet, streamed: memory holds a row at a time, not the sheet.
 * The one place pipelines read XLSX until `core/files` takes this over; the archive itself is read by the
 * feeds' streaming reader (exceljs's parts opened from the zip directory). A file that is not an .xlsx, or
 * one saved with a password, is refused before anything is read, in words a person can act on.
 */
export async function openWorkbookRows(filePath: string, filename: string): Promise<SheetRows> {
  const { size } = await fs.promises.stat(filePath);
  const head = Buffer.alloc(8);
  const handle = await fs.promises.open(filePath, 'r');
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  if (head.subarray(0, 4).equals(OLE_MAGIC)) {
    throw new AppError('validation_failed', `${filename} is password-protected or an old .xls workbook: Backhouse reads .xlsx without a password. Open it in Excel, remove the password (File › Info › Protect Workbook) and save it as .xlsx.`);
  }
  if (!head.subarray(0, 4).equals(ZIP_MAGIC)) {
    throw new AppError('validation_failed', `${filename} is not an .xlsx workbook (an .xlsx file is a zip archive, and this one is not). Save it from Excel as .xlsx and put it in the folder again.`);
  }
  const sheet = await openSheet({ filename, byteSize: size, open: (offset = 0) => fs.createReadStream(filePath, { start: offset }) });
  return {
    sheetName: sheet.name,
    rows: (async function* () {
      for await (const row of sheet.rows) {
        const raw = (row.values as ExcelJS.CellValue[]).slice(1);
        yield { rowNumber: row.number, values: Array.from(raw, (value, index) => cellValueOf(value, filename, sheet.name, row.number, index)) };
      }
    })(),
    close: () => sheet.close(),
  };
}

function cellValueOf(value: ExcelJS.CellValue | undefined, filename: string, sheetName: string, rowNumber: number, columnIndex: number): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value instanceof Date) return value;
  if ('richText' in value) return value.richText.map((part) => part.text).join('');
  if ('formula' in value || 'sharedFormula' in value) {
    const result = (value as ExcelJS.CellFormulaValue).result;
    if (result === undefined || result === null) {
      throw new AppError(
        'validation_failed',
        `${filename}, sheet “${sheetName}”, cell ${columnName(columnIndex)}${rowNumber} holds a formula without a saved value (the program that wrote the file did not calculate it). Open the workbook in Excel, let it calculate, save it and put it in the folder again.`,
      );
    }
    return cellValueOf(result as ExcelJS.CellValue, filename, sheetName, rowNumber, columnIndex);
  }
  if ('error' in value) {
    throw new AppError('validation_failed', `${filename}, sheet “${sheetName}”, cell ${columnName(columnIndex)}${rowNumber} shows the error ${value.error}. Correct the cell in Excel, save the workbook and put it in the folder again.`);
  }
  if ('text' in value) return String(value.text);
  return null;
}

/** A column's letters from its index (0 is A). */
export function columnName(index: number): string {
  let name = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}
