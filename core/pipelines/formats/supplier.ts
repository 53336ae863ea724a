import { z } from 'zod';
import { textCell, unitsCell, type FileFormat } from './columns.js';

/** One row of the supplier master: who supplies a SKU, how long it takes and in what quantities. */
export interface SupplierRow {
  sku: string;
  supplier: string;
  leadTimeDays: number;
  moq: number;
  packSize: number;
}

export const supplierFormat: FileFormat<SupplierRow> = {
  title: 'supplier master workbook',
  columns: {
    sku: { header: 'SKU', cell: textCell('a SKU') },
    supplier: { header: 'Supplier', cell: textCell('the supplier') },
    leadTimeDays: { header: 'Lead Time Days', cell: unitsCell(0) },
    moq: { header: 'MOQ', cell: unitsCell(0) },
    packSize: { header: 'Pack Size', cell: unitsCell(1) },
  },
  row: z.object({ sku: z.string(), supplier: z.string(), leadTimeDays: z.number(), moq: z.number(), packSize: z.number() }),
};
