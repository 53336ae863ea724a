import { dateInFileName, readFormatFile } from '../formats/columns.js';
import { supplierFormat, type SupplierRow } from '../formats/supplier.js';
import type { Pipeline } from '../pipeline.js';

/**
 * The supplier master as a day snapshot: stock health reads the latest one on or before its own day for
 * each SKU's supplier, lead time, MOQ and pack size.
 */
export const supplierMaster: Pipeline<{ rowNumber: number; row: SupplierRow }> = {
  name: 'supplier_master',
  title: 'Supplier master',
  matcher: { filename: /\.xlsx$/i, headers: Object.values(supplierFormat.columns).map((column) => column.header) },
  dateOf: (peek) => dateInFileName(peek.fileName),
  read: (file) => readFormatFile(supplierFormat, file),
  async *transform(rows) {
    for await (const { rowNumber, row } of rows) {
      yield { output: 'supplier_master_snapshots', values: { sku: row.sku, supplier: row.supplier, lead_time_days: row.leadTimeDays, moq: row.moq, pack_size: row.packSize, source_row: rowNumber } };
    }
  },
  outputs: [{ name: 'supplier_master_snapshots', table: 'supplier_master_snapshots', columns: ['sku', 'supplier', 'lead_time_days', 'moq', 'pack_size', 'source_row'] }],
  queue: { concurrency: 1 },
};
