import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextFor, systemContext, type Context } from '../../core/context.js';
import type { Role } from '../../core/auth/principal.js';
import { browseRow, browseRows } from '../../core/warehouse/browse.js';
import { stockBrowseSpecs } from '../../core/pipelines/stock_health/browse.js';
import { copyLines, copyValue } from '../../core/db/copy.js';
import { createLogger } from '../../core/log.js';
import { readFormatFile } from '../../core/pipelines/formats/columns.js';
import { inventoryFormat } from '../../core/pipelines/formats/inventory.js';
import { openQuantity, purchaseOrderFormat } from '../../core/pipelines/formats/purchase-orders.js';
import { supplierFormat } from '../../core/pipelines/formats/supplier.js';
import { SNAPSHOT_KEY_COLUMNS, type Pipeline, type PipelineFileRun } from '../../core/pipelines/pipeline.js';
import { getPipeline } from '../../core/pipelines/registry.js';
import { writeSampleDay, type SampleDay } from '../../core/pipelines/samples.js';
import { defaultThresholds, stockHealthOf } from '../../core/pipelines/stock_health/formulas.js';
import { stockHealthReference } from '../../core/pipelines/stock_health/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const DAY = '2026-11-20';
let database: TestDatabase;
let ctx: Context;
let businessId: string;
let dir: string;
let sample: SampleDay;

beforeAll(async () => {
  database = await createTestDatabase();
  ctx = systemContext('test', database.db, createLogger('silent'));
  businessId = (await database.db.pool.query<{ id: string }>(`INSERT INTO businesses (name) VALUES ('Parts Co') RETURNING id`)).rows[0]!.id;
  await database.db.pool.query(`INSERT INTO shops (business_id, name, code) VALUES ($1, 'Store one', 'S001'), ($1, 'Store two', 'S002')`, [businessId]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stock-pipelines-'));
  sample = await writeSampleDay(path.join(dir, 'in'), { businessDate: DAY, storeCount: 3, skuCount: 120 });
});
afterAll(async () => {
  await database?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * One file through a pipeline's own steps (prepare, read, transform) into its day table, with the key
 * columns the aggregator adds: what the pipelines machinery does for a file, without its queues.
 */
async function load(pipeline: Pipeline<any, any>, filePath: string): Promise<number> {
  const run: PipelineFileRun = { ctx, businessId, businessDate: DAY, runId: randomUUID(), fileJobId: randomUUID(), storeCode: null, signal: new AbortController().signal };
  const state = pipeline.prepare ? await pipeline.prepare(run) : undefined;
  const rows = pipeline.transform(pipeline.read({ path: filePath, name: path.basename(filePath), size: fs.statSync(filePath).size }, run), run, state);
  const output = pipeline.outputs[0]!;
  const client = await database.db.pool.connect();
  try {
    return await copyLines(client, `COPY ${output.table} (${[...SNAPSHOT_KEY_COLUMNS, ...output.columns].join(', ')}) FROM STDIN`, async (writer) => {
      let count = 0;
      for await (const row of rows) {
        const values = [businessId, DAY, run.runId, run.fileJobId, ...output.columns.map((column) => row.values[column])];
        if (writer.add(`${values.map((value) => copyValue(typeof value === 'boolean' ? String(value) : (value as string | number | null))).join('\t')}\n`)) await writer.flush();
        count++;
      }
      return count;
    });
  } finally {
    client.release();
  }
}

async function rowsOf<Row>(format: Parameters<typeof readFormatFile<Row>>[0], filePath: string): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const { row } of readFormatFile(format, { path: filePath, name: path.basename(filePath) })) rows.push(row);
  return rows;
}

describe('stock health and PO snapshot pipelines', () => {
  it('routes the three formats by their headers', () => {
    const peek = (headers: string[]) => ({ fileName: 'x.xlsx', headers, firstRow: null });
    expect(getPipeline('stock_health').matcher.headers).toEqual(['Store Code', 'SKU', 'Product Name', 'On Hand', 'Sold Last 30 Days', 'Unit Cost']);
    expect(getPipeline('stock_health').storeOf!({ ...peek([]), firstRow: { storecode: 'S007' } })).toBe('S007');
    expect(getPipeline('po_snapshot').dateOf!(peek([]))).toBeNull();
    expect(getPipeline('po_snapshot').dateOf!({ ...peek([]), fileName: 'po_export_20261120.xlsx' })).toBe('2026-11-20');
  });

  it('loads the supplier master and the PO export, with open quantity, late lines and fill rate per supplier', async () => {
    expect(await load(getPipeline('supplier_master'), sample.supplierMaster)).toBe(120);
    const poRows = await rowsOf(purchaseOrderFormat, sample.poExport);
    expect(await load(getPipeline('po_snapshot'), sample.poExport)).toBe(poRows.length);

    const { rows } = await database.db.pool.query<{ supplier: string; open_qty: string; late_lines: number; fill_rate: string | null }>(
      `SELECT supplier, open_qty, late_lines, fill_rate FROM po_supplier_metrics WHERE business_id = $1 AND business_date = $2 ORDER BY supplier`,
      [businessId, DAY],
    );
    const suppliers = [...new Set(poRows.map((row) => row.supplier))].sort();
    expect(rows.map((row) => row.supplier)).toEqual(suppliers);
    for (const metric of rows) {
      const lines = poRows.filter((row) => row.supplier === metric.supplier);
      const live = lines.filter((row) => row.status !== 'cancelled');
      const ordered = live.reduce((sum, row) => sum + row.qtyOrdered, 0);
      const received = live.reduce((sum, row) => sum + Math.min(row.qtyReceived, row.qtyOrdered), 0);
      expect(Number(metric.open_qty)).toBe(lines.reduce((sum, row) => sum + openQuantity(row), 0));
      expect(metric.late_lines).toBe(lines.filter((row) => openQuantity(row) > 0 && row.expectedDate !== null && row.expectedDate < DAY).length);
      expect(Number(metric.fill_rate)).toBeCloseTo(received / ordered, 4);
    }
    expect(rows.some((row) => row.late_lines > 0)).toBe(true);
  });

  it('merges each store file with the supplier master and open POs', async () => {
    for (const file of sample.inventoryFiles) expect(await load(getPipeline('stock_health'), file)).toBe(120);
    const suppliers = new Map((await rowsOf(supplierFormat, sample.supplierMaster)).map((row) => [row.sku, row]));
    const openPo = new Map<string, number>();
    for (const po of await rowsOf(purchaseOrderFormat, sample.poExport)) openPo.set(`${po.storeCode}/${po.sku}`, (openPo.get(`${po.storeCode}/${po.sku}`) ?? 0) + openQuantity(po));
    const inventory = await rowsOf(inventoryFormat, sample.inventoryFiles[1]!);

    const { rows } = await database.db.pool.query(
      `SELECT s.*, sh.code AS shop_code FROM stock_health_snapshots s LEFT JOIN shops sh ON sh.id = s.shop_id WHERE s.business_id = $1 AND s.business_date = $2 AND s.store_code = 'S002' ORDER BY s.sku`,
      [businessId, DAY],
    );
    expect(rows).toHaveLength(120);
    let netted = 0;
    for (const item of inventory) {
      const stored = rows.find((row) => row.sku === item.sku)!;
      const terms = suppliers.get(item.sku)!;
      const open = openPo.get(`S002/${item.sku}`) ?? 0;
      if (open > 0) netted++;
      const expected = stockHealthOf({ onHand: item.onHand, soldLast30Days: item.soldLast30Days, supplier: terms, openPoQty: open }, defaultThresholds);
      expect(stored).toMatchObject({ shop_code: 'S002', supplier: terms.supplier, pack_size: terms.packSize, open_po_qty: open, status: expected.status, suggested_order_qty: expected.suggestedOrderQty, reorder_point: expected.reorderPoint });
      expect(stored.suggested_order_qty % terms.packSize).toBe(0);
      expect(BigInt(stored.order_value_cents)).toBe(BigInt(expected.suggestedOrderQty) * BigInt(item.unitCostCents));
    }
    expect(netted).toBeGreaterThan(0);
    const statuses = await database.db.pool.query<{ status: string }>(`SELECT DISTINCT status FROM stock_health_snapshots WHERE business_id = $1`, [businessId]);
    expect(statuses.rows.map((row) => row.status).sort()).toEqual(['critical', 'healthy', 'low', 'overstock', 'stockout']);
  });

  it('writes the complete, m2 and emergency CSVs of the day', async () => {
    const outputDir = path.join(dir, 'out');
    const client = await database.db.pool.connect();
    const written = await getPipeline('stock_health').exportDay!(client, { businessId, businessDate: DAY, runId: randomUUID(), outputDir }).finally(() => client.release());
    expect(written.map((file) => [file.name, path.basename(file.path)])).toEqual([['complete', 'complete_20261120.csv'], ['m2', 'm2_20261120.csv'], ['emergency', 'emergency_20261120.csv']]);
    // Only the three files: each was written beside its target and renamed over it.
    expect(fs.readdirSync(outputDir).sort()).toEqual(['complete_20261120.csv', 'emergency_20261120.csv', 'm2_20261120.csv']);
    const [complete, m2, emergency] = written.map((file) => parseCsv(fs.readFileSync(file.path), { columns: true }) as Record<string, string>[]) as [Record<string, string>[], Record<string, string>[], Record<string, string>[]];
    expect(written.map((file) => file.rows)).toEqual([complete.length, m2.length, emergency.length]);
    expect(complete).toHaveLength(360);
    const counts = (await database.db.pool.query<{ orders: string; urgent: string }>(
      `SELECT count(*) FILTER (WHERE suggested_order_qty > 0) AS orders, count(*) FILTER (WHERE status IN ('stockout', 'critical') AND avg_daily_sales > 0) AS urgent FROM stock_health_snapshots WHERE business_id = $1`,
      [businessId],
    )).rows[0]!;
    expect(m2).toHaveLength(Number(counts.orders));
    expect(m2.every((row) => Number(row.suggested_order_qty) === Number(row.packs) * Number(row.pack_size))).toBe(true);
    expect(m2.map((row) => row.supplier)).toEqual([...m2.map((row) => row.supplier)].sort());
    expect(emergency).toHaveLength(Number(counts.urgent));
    expect(new Set(emergency.map((row) => row.status))).toEqual(new Set(['stockout', 'critical']));
    const first = complete[0]!;
    expect(first.unit_cost).toMatch(/^\d+\.\d{2}$/);
  });

  it('fails a broken store file with a readable error', async () => {
    const book = new ExcelJS.Workbook();
    book.addWorksheet('Inventory').addRows([['Store Code', 'SKU', 'On Hand'], ['S009', 'SKU-1', 3]]);
    const broken = path.join(dir, 'inventory_S009_2026-11-20.xlsx');
    await book.xlsx.writeFile(broken);
    await expect(load(getPipeline('stock_health'), broken)).rejects.toThrow(/inventory_S009_2026-11-20\.xlsx is not a store inventory workbook: its first row lacks the columns “Product Name”, “Sold Last 30 Days”, “Unit Cost”/);
  });

  it('shows stock health rows of the person’s business and stores only', async () => {
    const shops = new Map((await database.db.pool.query<{ code: string; id: string }>(`SELECT code, id FROM shops WHERE business_id = $1`, [businessId])).rows.map((row) => [row.code, row.id]));
    const person = (role: Role, business: string | null, shopIds: string[]) => contextFor({ kind: 'user', id: randomUUID(), email: `${role}@x.test`, name: role, role, businessId: business, shopIds }, database.db, ctx.log);
    const stores = async (reader: Context) => new Set((await browseRows(reader, stockBrowseSpecs.stockHealth, { take: 500 })).rows.map((row) => row['storeCode']));
    expect(await stores(person('ops', businessId, []))).toEqual(new Set(['S001', 'S002', 'S003']));
    expect(await stores(person('manager', businessId, [shops.get('S001')!]))).toEqual(new Set(['S001']));
    expect(await stores(person('manager', randomUUID(), []))).toEqual(new Set());
    const first = (await browseRows(person('manager', businessId, [shops.get('S002')!]), stockBrowseSpecs.stockHealth, { take: 1 })).rows[0]!;
    expect(first['status']).toBe('stockout');
    await expect(browseRow(person('manager', businessId, [shops.get('S001')!]), stockBrowseSpecs.stockHealth, first.id)).rejects.toThrow(/was not found/);
    const lines = await browseRows(person('manager', businessId, [shops.get('S001')!]), stockBrowseSpecs.poSnapshots, { take: 500 });
    expect(lines.rows.every((row) => row['storeCode'] === 'S001') && lines.total > 0).toBe(true);
  });

  it('makes a store file wait while the day’s supplier master is still loading', async () => {
    const run = await database.db.pool.query<{ id: string }>(`INSERT INTO pipeline_runs (business_id, pipeline_name, date, status, trigger) VALUES ($1, 'supplier_master', '2026-11-21', 'processing', 'watcher') RETURNING id`, [businessId]);
    await expect(stockHealthReference(ctx, businessId, '2026-11-21')).rejects.toThrow(/The supplier master of this day is still loading; this store file is read again once it has/);
    // Another day's loading master does not hold this day up; the latest master on or before the day is used.
    expect((await stockHealthReference(ctx, businessId, '2026-11-22')).suppliers.size).toBe(120);
    await database.db.pool.query(`UPDATE pipeline_runs SET status = 'completed' WHERE id = $1`, [run.rows[0]!.id]);
    expect((await stockHealthReference(ctx, businessId, '2026-11-21')).suppliers.size).toBe(120);
  });
});

