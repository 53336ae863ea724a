import { z } from 'zod';
import { centsCell, plainCents, plainText, plainUnits, textCell, unitsCell, type FileFormat } from './columns.js';

/** One row of a store's daily inventory workbook: a SKU's stock at the store that day. */
export interface InventoryRow {
  storeCode: string;
  sku: string;
  productName: string;
  onHand: number;
  soldLast30Days: number;
  unitCostCents: number;
}

export const inventoryFormat: FileFormat<InventoryRow> = {
  title: 'store inventory workbook',
  columns: {
    storeCode: { header: 'Store Code', cell: textCell('the store code'), plain: plainText },
    sku: { header: 'SKU', cell: textCell('a SKU'), plain: plainText },
    productName: { header: 'Product Name', cell: textCell('the product name'), plain: plainText },
    // Books can show negative stock (sales before a delivery is booked): kept, counted as a stockout.
    onHand: { header: 'On Hand', cell: unitsCell(-1e9), plain: plainUnits(-1e9) },
    soldLast30Days: { header: 'Sold Last 30 Days', cell: unitsCell(0), plain: plainUnits(0) },
    unitCostCents: { header: 'Unit Cost', cell: centsCell, plain: plainCents },
  },
  row: z.object({ storeCode: z.string(), sku: z.string(), productName: z.string(), onHand: z.number(), soldLast30Days: z.number(), unitCostCents: z.number() }),
};
