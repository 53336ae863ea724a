import { z } from 'zod';
import { dateCell, optionalDateCell, optionalTextCell, textCell, unitsCell, type FileFormat } from './columns.js';

/** What a PO line's status says; any other word is refused (it would silently count as open or closed). */
export const poStatuses = ['open', 'partial', 'received', 'closed', 'cancelled'] as const;
export type PoStatus = (typeof poStatuses)[number];

/** One line of a purchase-order export. */
export interface PurchaseOrderRow {
  poNumber: string;
  supplier: string;
  sku: string;
  qtyOrdered: number;
  qtyReceived: number;
  orderDate: string;
  expectedDate: string | null;
  status: PoStatus;
  /** Optional column: the store the PO delivers to. Lines without one are for the business as a whole. */
  storeCode: string | null;
}

const statusCell = z.preprocess(
  (value) => (typeof value === 'string' ? value.trim().toLowerCase().replace(/^canceled$/, 'cancelled').replace(/^partially received$/, 'partial') : value),
  z.enum(poStatuses, { error: `is not a PO status: use one of ${poStatuses.join(', ')}` }),
);

export const purchaseOrderFormat: FileFormat<PurchaseOrderRow> = {
  title: 'PO export workbook',
  columns: {
    poNumber: { header: 'PO Number', cell: textCell('a PO number') },
    supplier: { header: 'Supplier', cell: textCell('the supplier') },
    sku: { header: 'SKU', cell: textCell('a SKU') },
    qtyOrdered: { header: 'Qty Ordered', cell: unitsCell(0) },
    qtyReceived: { header: 'Qty Received', cell: unitsCell(0) },
    orderDate: { header: 'Order Date', cell: dateCell('the order date') },
    expectedDate: { header: 'Expected Date', cell: optionalDateCell('the expected date') },
    status: { header: 'Status', cell: statusCell },
    storeCode: { header: 'Store Code', cell: optionalTextCell, optional: true },
  },
  row: z.object({
    poNumber: z.string(),
    supplier: z.string(),
    sku: z.string(),
    qtyOrdered: z.number(),
    qtyReceived: z.number(),
    orderDate: z.string(),
    expectedDate: z.string().nullable(),
    status: z.enum(poStatuses),
    storeCode: z.string().nullable(),
  }),
};

/** Still to arrive: nothing once a line is received, closed or cancelled; never negative (over-deliveries). */
export function openQuantity(row: Pick<PurchaseOrderRow, 'qtyOrdered' | 'qtyReceived' | 'status'>): number {
  return row.status === 'open' || row.status === 'partial' ? Math.max(row.qtyOrdered - row.qtyReceived, 0) : 0;
}

/** Late: still open after its expected date (a line without one is never late). */
export function isLate(row: Pick<PurchaseOrderRow, 'qtyOrdered' | 'qtyReceived' | 'status' | 'expectedDate'>, asOf: string): boolean {
  return openQuantity(row) > 0 && row.expectedDate !== null && row.expectedDate < asOf;
}
