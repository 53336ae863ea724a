import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { NOT_PLAIN, readFormatRows } from '../../core/pipelines/formats/columns.js';
import { inventoryFormat } from '../../core/pipelines/formats/inventory.js';
import { isLate, openQuantity, purchaseOrderFormat } from '../../core/pipelines/formats/purchase-orders.js';
import { supplierFormat } from '../../core/pipelines/formats/supplier.js';
import { openWorkbookRows, type CellValue } from '../../core/pipelines/formats/workbook.js';
import { writeSampleDay } from '../../core/pipelines/samples.js';
import type { FileFormat } from '../../core/pipelines/formats/columns.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-formats-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function readAll<Row>(format: FileFormat<Row>, filePath: string): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const { row } of readFormatRows(format, await openWorkbookRows(filePath, path.basename(filePath)), path.basename(filePath))) rows.push(row);
  return rows;
}

async function workbook(name: string, rows: unknown[][], edit?: (sheet: ExcelJS.Worksheet) => void): Promise<string> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('Sheet1');
  for (const row of rows) sheet.addRow(row);
  edit?.(sheet);
  const filePath = path.join(dir, name);
  await book.xlsx.writeFile(filePath);
  return filePath;
}

describe('sample workbooks', () => {
  it('writes a day in the three formats that read back', async () => {
    const day = await writeSampleDay(path.join(dir, 'day'), { businessDate: '2026-11-20', storeCount: 2, skuCount: 50 });
    expect(day.inventoryFiles.map((f) => path.basename(f))).toEqual(['inventory_S001_2026-11-20.xlsx', 'inventory_S002_2026-11-20.xlsx']);
    const inventory = await readAll(inventoryFormat, day.inventoryFiles[0]!);
    expect(inventory).toHaveLength(50);
    expect(inventory[0]).toMatchObject({ storeCode: 'S001', sku: 'SKU-00001' });
    expect(Number.isInteger(inventory[0]!.unitCostCents)).toBe(true);
    const suppliers = await readAll(supplierFormat, day.supplierMaster);
    expect(suppliers).toHaveLength(50);
    expect(suppliers.every((s) => s.moq % s.packSize === 0)).toBe(true);
    const pos = await readAll(purchaseOrderFormat, day.poExport);
    expect(pos.length).toBeGreaterThan(5);
    expect(pos.every((po) => /^\d{4}-\d{2}-\d{2}$/.test(po.orderDate) && po.storeCode !== null)).toBe(true);
  });
});

describe('input formats', () => {
  it('matches headers ignoring case, spaces and underscores, and ignores extra columns', async () => {
    const file = await workbook('loose.xlsx', [
      ['notes', 'store_code', 'sku', 'PRODUCT NAME', 'onhand', 'Sold_Last_30_Days', ' Unit  Cost '],
      ['x', 'S9', 1001, 'Widget', '1,200', 30, '$12.35'],
    ]);
    expect(await readAll(inventoryFormat, file)).toEqual([{ storeCode: 'S9', sku: '1001', productName: 'Widget', onHand: 1200, soldLast30Days: 30, unitCostCents: 1235 }]);
  });

  it('names the missing columns and the ones present', async () => {
    const file = await workbook('missing.xlsx', [['SKU', 'Supplier', 'MOQ'], ['A', 'B', 1]]);
    await expect(readAll(supplierFormat, file)).rejects.toThrow(/missing\.xlsx is not a supplier master workbook: its first row lacks the columns “Lead Time Days”, “Pack Size” \(it has “SKU”, “Supplier”, “MOQ”\)/);
  });

  it('refuses bad cells with row and column, after reading the whole sheet', async () => {
    const file = await workbook('bad-cells.xlsx', [
      ['SKU', 'Supplier', 'Lead Time Days', 'MOQ', 'Pack Size'],
      ['A', 'Acme', 5, 10, 2],
      ['B', 'Acme', 'soon', 10, 0],
      ['', 'Acme', 5, 10, 2],
    ]);
    await expect(readAll(supplierFormat, file)).rejects.toThrow(/bad-cells\.xlsx has 3 bad cells \(row 3, Lead Time Days \(C\): is not a number of units; row 3, Pack Size \(E\): must be 1 or more; row 4, SKU \(A\): is empty/);
  });

  it('refuses a formula without a saved value, naming the cell', async () => {
    const file = await workbook('formula.xlsx', [['SKU', 'Supplier', 'Lead Time Days', 'MOQ', 'Pack Size'], ['A', 'Acme', 5, 10, 2]], (sheet) => {
      sheet.getCell('C2').value = { formula: 'B1*2' } as ExcelJS.CellFormulaValue;
    });
    await expect(readAll(supplierFormat, file)).rejects.toThrow(/cell C2 holds a formula without a saved value/);
  });

  it('reads a formula by its saved value, and dates saved as serial numbers', async () => {
    const file = await workbook('po.xlsx', [
      ['PO Number', 'Supplier', 'SKU', 'Qty Ordered', 'Qty Received', 'Order Date', 'Expected Date', 'Status'],
      ['PO-1', 'Acme', 'A', 10, 4, 46336, '2026-11-25', 'Partially received'],
      ['PO-2', 'Acme', 'B', 10, 0, new Date(Date.UTC(2026, 10, 1)), null, 'OPEN'],
    ], (sheet) => {
      sheet.getCell('D2').value = { formula: '5*2', result: 10 } as ExcelJS.CellFormulaValue;
    });
    const rows = await readAll(purchaseOrderFormat, file);
    expect(rows).toEqual([
      { poNumber: 'PO-1', supplier: 'Acme', sku: 'A', qtyOrdered: 10, qtyReceived: 4, orderDate: '2026-11-10', expectedDate: '2026-11-25', status: 'partial', storeCode: null },
      { poNumber: 'PO-2', supplier: 'Acme', sku: 'B', qtyOrdered: 10, qtyReceived: 0, orderDate: '2026-11-01', expectedDate: null, status: 'open', storeCode: null },
    ]);
    expect(rows.map((row) => openQuantity(row))).toEqual([6, 10]);
    expect(rows.map((row) => isLate(row, '2026-11-26'))).toEqual([true, false]);
  });

  it('refuses a date it would have to guess', async () => {
    const file = await workbook('po-dates.xlsx', [
      ['PO Number', 'Supplier', 'SKU', 'Qty Ordered', 'Qty Received', 'Order Date', 'Expected Date', 'Status'],
      ['PO-1', 'Acme', 'A', 10, 4, '03/04/2026', null, 'open'],
    ]);
    await expect(readAll(purchaseOrderFormat, file)).rejects.toThrow(/row 2, Order Date \(F\): is not a date: write the order date as a date cell or as YYYY-MM-DD/);
  });

  it('refuses files that are not workbooks, or are password-protected', async () => {
    const text = path.join(dir, 'notes.xlsx');
    fs.writeFileSync(text, 'Store Code,SKU\nS1,A\n');
    await expect(openWorkbookRows(text, 'notes.xlsx')).rejects.toThrow(/notes\.xlsx is not an \.xlsx workbook/);
    const ole = path.join(dir, 'locked.xlsx');
    fs.writeFileSync(ole, Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(600)]));
    await expect(openWorkbookRows(ole, 'locked.xlsx')).rejects.toThrow(/locked\.xlsx is password-protected/);
    const broken = path.join(dir, 'cut.xlsx');
    const whole = fs.readFileSync(await workbook('whole.xlsx', [['SKU'], ['A']]));
    fs.writeFileSync(broken, whole.subarray(0, Math.floor(whole.length / 2)));
    await expect((async () => readAll(supplierFormat, broken))()).rejects.toThrow(/cut\.xlsx/);
  });
});

describe('plain cells (the schemas spared on well-formed cells)', () => {
  const values: CellValue[] = [
    0, -0, 1, 7, 12.5, 12.34, 12.345, 0.07, 0.1 + 0.2, 1e10, 1e10 + 0.5, 1e12, 1e21, -1, -3.5, 5e-7, 999_999_999, 1_000_000_000, 1_000_000_001, -1e9, -1e9 - 1, NaN, Infinity,
    '', '  ', ' A-1 ', 'SKU 1001', '12', '1,234', '$12.50', 'x'.repeat(200), 'x'.repeat(201), ` ${'y'.repeat(200)} `, true, false, null, new Date('2026-11-20T00:00:00Z'),
  ];
  const columns = Object.values(inventoryFormat.columns).filter((column) => column.plain);
  it.each(columns.map((column) => [column.header, column] as const))('%s: every plain answer is what the schema reads', (_header, column) => {
    let answered = 0;
    for (const value of values) {
      const plain = column.plain!(value);
      if (plain === NOT_PLAIN) continue;
      answered++;
      expect({ value, read: column.cell.safeParse(value) }).toEqual({ value, read: { success: true, data: plain } });
    }
    expect(answered).toBeGreaterThan(2);
  });
});
