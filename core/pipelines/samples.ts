import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { seededRandom } from '../random.js';

/**
 * Sample workbooks in the three input formats, as a shop's systems would export them: for tests, the demo
 * business, the README and bench:pipelines. Deterministic: the same seed gives the same files.
 */

export interface SampleSku {
  sku: string;
  productName: string;
  unitCostCents: number;
  supplier: string;
  leadTimeDays: number;
  moq: number;
  packSize: number;
}

const SUPPLIERS = ['Northwind Supply', 'Acme Wholesale', 'Harbor Traders', 'Summit Distribution', 'Blue River Foods', 'Keystone Parts'];
const PRODUCTS = ['Brake Pads', 'Oil Filter', 'Wiper Blade', 'Spark Plug', 'Air Filter', 'Coolant 1L', 'Motor Oil 5L', 'Headlight Bulb', 'Battery 12V', 'Fuse Kit'];


export function sampleCatalog(skuCount: number, seed = 1): SampleSku[] {
  const random = seededRandom(seed);
  return Array.from({ length: skuCount }, (_, index) => {
    const packSize = [1, 1, 4, 6, 12, 24][Math.floor(random() * 6)]!;
    return {
      sku: `SKU-${String(index + 1).padStart(5, '0')}`,
      productName: `${PRODUCTS[index % PRODUCTS.length]} ${Math.floor(index / PRODUCTS.length) + 1}`,
      unitCostCents: 99 + Math.floor(random() * 20_000),
      supplier: SUPPLIERS[index % SUPPLIERS.length]!,
      leadTimeDays: 2 + Math.floor(random() * 20),
      moq: packSize * (1 + Math.floor(random() * 4)),
      packSize,
    };
  });
}

/** A store's stock of a SKU, spread so every status shows up (about 5% stockouts, 10% critical, 15% low, 15% overstock). */
function sampleStock(random: () => number): { onHand: number; soldLast30Days: number } {
  const soldLast30Days = Math.floor(random() * 120);
  const perDay = soldLast30Days / 30;
  const pick = random();
  const days = pick < 0.05 ? 0 : pick < 0.15 ? 1 + random() * 5 : pick < 0.3 ? 7 + random() * 6 : pick < 0.85 ? 20 + random() * 60 : 95 + random() * 200;
  return { onHand: Math.round(perDay * days) + (pick >= 0.05 && soldLast30Days === 0 ? 3 : 0), soldLast30Days };
}

async function writeSheet(filePath: string, sheetName: string, header: string[], rows: Iterable<(string | number | Date | null)[]>): Promise<void> {
  await fs.promises.mkdir(path.dirname(filePath), { recursive: true });
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: filePath, useSharedStrings: true, useStyles: true });
  const sheet = workbook.addWorksheet(sheetName);
  sheet.addRow(header).commit();
  for (const row of rows) sheet.addRow(row).commit();
  sheet.commit();
  await workbook.commit();
}

/** `inventory_<store>_<YYYY-MM-DD>.xlsx`: the name the stock_health pipeline's matcher expects. */
export function inventoryFileName(storeCode: string, businessDate: string): string {
  return `inventory_${storeCode}_${businessDate}.xlsx`;
}

export async function writeInventoryWorkbook(filePath: string, options: { storeCode: string; catalog: SampleSku[]; seed?: number }): Promise<number> {
  const random = seededRandom(options.seed ?? hashOf(options.storeCode));
  await writeSheet(
    filePath,
    'Inventory',
    ['Store Code', 'SKU', 'Product Name', 'On Hand', 'Sold Last 30 Days', 'Unit Cost'],
    (function* () {
      for (const item of options.catalog) {
        const stock = sampleStock(random);
        yield [options.storeCode, item.sku, item.productName, stock.onHand, stock.soldLast30Days, item.unitCostCents / 100];
      }
    })(),
  );
  return options.catalog.length;
}

export async function writeSupplierMaster(filePath: string, catalog: SampleSku[]): Promise<void> {
  await writeSheet(filePath, 'Suppliers', ['SKU', 'Supplier', 'Lead Time Days', 'MOQ', 'Pack Size'], catalog.map((item) => [item.sku, item.supplier, item.leadTimeDays, item.moq, item.packSize]));
}

/**
 * A PO export as of `businessDate`: about one SKU in five has a PO, per store, ordered in the last 30 days;
 * some received, some partly, some late (expected before the day and still open), a few cancelled.
 */
export async function writePoExport(filePath: string, options: { catalog: SampleSku[]; storeCodes: string[]; businessDate: string; seed?: number }): Promise<number> {
  const random = seededRandom(options.seed ?? 7);
  const day = Date.parse(`${options.businessDate}T00:00:00Z`);
  const iso = (offsetDays: number) => new Date(day + offsetDays * 86_400_000);
  const rows: (string | number | Date | null)[][] = [];
  let poNumber = 10_000;
  for (const storeCode of options.storeCodes) {
    for (const item of options.catalog) {
      if (random() >= 0.2) continue;
      const ordered = item.moq + item.packSize * Math.floor(random() * 5);
      const orderedDaysAgo = 1 + Math.floor(random() * 30);
      const expected = -orderedDaysAgo + item.leadTimeDays;
      const outcome = random();
      const [status, received] = outcome < 0.35 ? ['Received', ordered] : outcome < 0.5 ? ['Partial', Math.floor(ordered / 2)] : outcome < 0.55 ? ['Cancelled', 0] : ['Open', 0];
      rows.push([`PO-${poNumber++}`, item.supplier, item.sku, ordered, received, iso(-orderedDaysAgo), iso(expected), status, storeCode]);
    }
  }
  await writeSheet(filePath, 'Purchase Orders', ['PO Number', 'Supplier', 'SKU', 'Qty Ordered', 'Qty Received', 'Order Date', 'Expected Date', 'Status', 'Store Code'], rows);
  return rows.length;
}

export interface SampleDay {
  inventoryFiles: string[];
  supplierMaster: string;
  poExport: string;
  rows: number;
}

/**
 * A day's files for `storeCount` stores of `skuCount` SKUs each: one inventory workbook per store, the supplier
 * master and the PO export, written into `dir`.
 */
export async function writeSampleDay(dir: string, options: { businessDate: string; storeCount: number; skuCount: number; seed?: number; storeCodes?: string[] }): Promise<SampleDay> {
  const catalog = sampleCatalog(options.skuCount, options.seed ?? 1);
  const storeCodes = options.storeCodes ?? sampleStoreCodes(options.storeCount);
  const inventoryFiles: string[] = [];
  for (const storeCode of storeCodes) {
    const filePath = path.join(dir, inventoryFileName(storeCode, options.businessDate));
    await writeInventoryWorkbook(filePath, { storeCode, catalog, seed: hashOf(`${storeCode}/${options.businessDate}/${options.seed ?? 1}`) });
    inventoryFiles.push(filePath);
  }
  const supplierMaster = path.join(dir, 'supplier_master.xlsx');
  await writeSupplierMaster(supplierMaster, catalog);
  const poExport = path.join(dir, `po_export_${options.businessDate}.xlsx`);
  await writePoExport(poExport, { catalog, storeCodes, businessDate: options.businessDate, seed: options.seed });
  return { inventoryFiles, supplierMaster, poExport, rows: storeCodes.length * catalog.length };
}

export function sampleStoreCodes(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `S${String(index + 1).padStart(3, '0')}`);
}

function hashOf(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash >>> 0;
}
