import { loadConfig, type Config } from '../../config.js';
import type { Context } from '../../context.js';
import { AppError } from '../../errors.js';
import { dateInFileName, readFormatFile } from '../formats/columns.js';
import { inventoryFormat, type InventoryRow } from '../formats/inventory.js';
import type { Pipeline } from '../pipeline.js';
import { shopIdsByCode } from '../stores.js';
import { exportStockHealthDay } from './exports.js';
import { stockHealthOf, type StockHealthThresholds } from './formulas.js';

export function stockHealthThresholds(config: Pick<Config, 'STOCK_CRITICAL_DAYS' | 'STOCK_LOW_DAYS' | 'STOCK_OVERSTOCK_DAYS' | 'STOCK_SERVICE_LEVEL_Z' | 'STOCK_ORDER_CYCLE_DAYS'>): StockHealthThresholds {
  return {
    salesWindowDays: 30,
    criticalDays: config.STOCK_CRITICAL_DAYS,
    lowDays: config.STOCK_LOW_DAYS,
    overstockDays: config.STOCK_OVERSTOCK_DAYS,
    serviceLevelZ: config.STOCK_SERVICE_LEVEL_Z,
    orderCycleDays: config.STOCK_ORDER_CYCLE_DAYS,
  };
}

interface SupplierTerms {
  supplier: string;
  leadTimeDays: number;
  moq: number;
  packSize: number;
}

/** What every file of a day needs besides its own rows: read once per file job. */
export interface StockHealthReference {
  suppliers: Map<string, SupplierTerms>;
  /** Open PO quantity by `store code / SKU`. */
  openPo: Map<string, number>;
  shops: Map<string, string>;
  thresholds: StockHealthThresholds;
}

/**
 * The reference data of a business day: the supplier master and the PO snapshot, each the latest loaded on
 * or before the day (a master that did not change is not sent daily). Open PO quantities count only lines
 * that name a store; lines for the business as a whole are not netted against any one store.
 */
export async function stockHealthReference(ctx: Context, businessId: string, businessDate: string): Promise<StockHealthReference> {
  // A watcher's poll queues the day's master, PO export and store files together: a store file read before
  // them would miss them, so it waits (the attempt fails and pg-boss retries it with backoff).
  const loading = await ctx.db.pool.query<{ pipeline_name: string }>(
    `SELECT DISTINCT pipeline_name FROM pipeline_runs WHERE business_id = $1 AND pipeline_name IN ('supplier_master', 'po_snapshot') AND date = $2 AND status IN ('pending', 'processing')`,
    [businessId, businessDate],
  );
  if (loading.rows.length > 0) {
    throw new AppError('unavailable', `The ${loading.rows.map((row) => (row.pipeline_name === 'supplier_master' ? 'supplier master' : 'PO export')).join(' and ')} of this day is still loading; this store file is read again once it has (retry it if its attempts ran out).`);
  }
  const [suppliers, openPo, shops] = await Promise.all([
    ctx.db.pool.query<{ sku: string; supplier: string; lead_time_days: number; moq: number; pack_size: number }>(
      `SELECT DISTINCT ON (sku) sku, supplier, lead_time_days, moq, pack_size
         FROM supplier_master_snapshots
        WHERE business_id = $1
          AND business_date = (SELECT max(business_date) FROM supplier_master_snapshots WHERE business_id = $1 AND business_date <= $2)
        ORDER BY sku, source_row DESC`,
      [businessId, businessDate],
    ),
    ctx.db.pool.query<{ store_code: string; sku: string; open_qty: string }>(
      `SELECT store_code, sku, sum(open_qty) AS open_qty
         FROM po_snapshots
        WHERE business_id = $1 AND store_code IS NOT NULL AND open_qty > 0
          AND business_date = (SELECT max(business_date) FROM po_snapshots WHERE business_id = $1 AND business_date <= $2)
        GROUP BY store_code, sku`,
      [businessId, businessDate],
    ),
    shopIdsByCode(ctx, businessId),
  ]);
  return {
    suppliers: new Map(suppliers.rows.map((row) => [row.sku, { supplier: row.supplier, leadTimeDays: row.lead_time_days, moq: row.moq, packSize: row.pack_size }])),
    openPo: new Map(openPo.rows.map((row) => [`${row.store_code}/${row.sku}`, Number(row.open_qty)])),
    shops,
    thresholds: stockHealthThresholds(loadConfig()),
  };
}

/** The stock health columns of one inventory row, given the day's reference data. */
export function stockHealthValues(row: InventoryRow, rowNumber: number, reference: StockHealthReference): Record<string, unknown> {
  const terms = reference.suppliers.get(row.sku) ?? null;
  const openPoQty = reference.openPo.get(`${row.storeCode}/${row.sku}`) ?? 0;
  const health = stockHealthOf({ onHand: row.onHand, soldLast30Days: row.soldLast30Days, supplier: terms, openPoQty }, reference.thresholds);
  const cost = BigInt(row.unitCostCents);
  return {
    store_code: row.storeCode,
    shop_id: reference.shops.get(row.storeCode) ?? null,
    sku: row.sku,
    product_name: row.productName,
    on_hand: row.onHand,
    sold_last_30_days: row.soldLast30Days,
    unit_cost_cents: row.unitCostCents,
    supplier: terms?.supplier ?? null,
    lead_time_days: terms?.leadTimeDays ?? null,
    moq: terms?.moq ?? null,
    pack_size: terms?.packSize ?? null,
    open_po_qty: openPoQty,
    avg_daily_sales: health.avgDailySales.toFixed(4),
    days_of_cover: health.daysOfCover === null ? null : Math.min(health.daysOfCover, 999_999_999).toFixed(2),
    safety_stock: health.safetyStock,
    reorder_point: health.reorderPoint,
    suggested_order_qty: health.suggestedOrderQty,
    status: health.status,
    stock_value_cents: (BigInt(Math.max(row.onHand, 0)) * cost).toString(),
    order_value_cents: (BigInt(health.suggestedOrderQty) * cost).toString(),
    source_row: rowNumber,
  };
}

export const stockHealthColumns = [
  'store_code', 'shop_id', 'sku', 'product_name', 'on_hand', 'sold_last_30_days', 'unit_cost_cents', 'supplier', 'lead_time_days', 'moq', 'pack_size',
  'open_po_qty', 'avg_daily_sales', 'days_of_cover', 'safety_stock', 'reorder_point', 'suggested_order_qty', 'status', 'stock_value_cents', 'order_value_cents', 'source_row',
] as const;

/**
 * Each store's daily inventory workbook, merged with the supplier master and open POs, into the day's
 * `stock_health_snapshots`; once the day's run is final, its complete, m2 and emergency CSVs.
 */
export const stockHealth: Pipeline<{ rowNumber: number; row: InventoryRow }, StockHealthReference> = {
  name: 'stock_health',
  title: 'Stock health',
  matcher: { filename: /\.xlsx$/i, headers: Object.values(inventoryFormat.columns).map((column) => column.header) },
  storeOf: (peek) => peek.firstRow?.['storecode']?.trim() || null,
  dateOf: (peek) => dateInFileName(peek.fileName),
  prepare: (run) => stockHealthReference(run.ctx, run.businessId, run.businessDate),
  read: (file) => readFormatFile(inventoryFormat, file),
  async *transform(rows, _run, reference) {
    for await (const { rowNumber, row } of rows) yield { output: 'stock_health_snapshots', values: stockHealthValues(row, rowNumber, reference) };
  },
  outputs: [{ name: 'stock_health_snapshots', table: 'stock_health_snapshots', columns: stockHealthColumns }],
  exportDay: (client, day) => exportStockHealthDay(client, day),
};
