/**
 * Reading files, for every capability that takes them (feeds, mapping, pipelines): files that can be read
 * from any offset, CSV and XLSX as streamed tables, one sheet as records keyed by normalised header, and the
 * readers of the values in them. The modules beside this one hold the rest.
 */
export { countingSource, fileInMemory, fileOnDisk, type ReadableFile } from './file.js';
export { openTable } from './reader.js';
export { eachRow, withHeaders, type ReadLimits, type RowBatch, type Table, type TableRow } from './table.js';
export { readSheetRows, type CellProblem, type ReadSheetOptions, type SheetColumn, type SheetColumnKind, type SheetRecord, type SheetRows } from './sheet.js';
export { normaliseHeader } from './headers.js';
export { parseBooleanWord } from './booleans.js';
export { detectDecimalMark, parseDecimal, parseDecimalIn, type DecimalMark, type NumberLocale } from './numbers.js';
export { detectDateFormat, isCalendarDate, parseDateAs, type DateFormat } from './dates.js';
