import { dateInFileName, readFormatFile } from '../formats/columns.js';
import { isLate, openQuantity, purchaseOrderFormat, type PurchaseOrderRow } from '../formats/purchase-orders.js';
import type { Pipeline } from '../pipeline.js';
import { shopIdsByCode } from '../stores.js';

/**
 * PO exports into the day's `po_snapshots`: each line with what is still to arrive and whether it is late
 * as of the business day. Per supplier (open quantity, late POs, fill rate) it is the `po_supplier_metrics` view.
 */
export const poSnapshot: Pipeline<{ rowNumber: number; row: PurchaseOrderRow }, Map<string, string>> = {
  name: 'po_snapshot',
  title: 'PO snapshot',
  matcher: { filename: /\.xlsx$/i, headers: ['PO Number', 'Supplier', 'SKU', 'Qty Ordered', 'Qty Received', 'Expected Date'] },
  dateOf: (peek) => dateInFileName(peek.fileName),
  prepare: (run) => shopIdsByCode(run.ctx, run.businessId),
  read: (file) => readFormatFile(purchaseOrderFormat, file),
  async *transform(rows, run, shops) {
    const asOf = run.businessDate;
    for await (const { rowNumber, row } of rows) {
      const late = isLate(row, asOf);
      yield {
        output: 'po_snapshots',
        values: {
          po_number: row.poNumber,
          supplier: row.supplier,
          sku: row.sku,
          store_code: row.storeCode,
          shop_id: row.storeCode === null ? null : (shops.get(row.storeCode) ?? null),
          qty_ordered: row.qtyOrdered,
          qty_received: row.qtyReceived,
          open_qty: openQuantity(row),
          order_date: row.orderDate,
          expected_date: row.expectedDate,
          status: row.status,
          is_late: late,
          days_late: late ? daysBetween(row.expectedDate!, asOf) : null,
          source_row: rowNumber,
        },
      };
    }
  },
  outputs: [
    {
      name: 'po_snapshots',
      table: 'po_snapshots',
      columns: ['po_number', 'supplier', 'sku', 'store_code', 'shop_id', 'qty_ordered', 'qty_received', 'open_qty', 'order_date', 'expected_date', 'status', 'is_late', 'days_late', 'source_row'],
    },
  ],
  queue: { concurrency: 1 },
};

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}
