import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { to as copyTo } from 'pg-copy-streams';
import type pg from 'pg';
import { AppError } from '../../errors.js';
import type { DayOutputFile } from '../pipeline.js';

/**
 * The stock health CSVs of a business day, each streamed from the day's snapshot by one COPY (never the day
 * in memory), all three read in the caller's one transaction (the same state of the day), each written beside
 * its target and renamed over the last one once all three are written, so a reader never sees half a file.
 * The README ("Stock health and PO snapshots", Outputs) defines each; in short:
 *
 * - `complete_<YYYYMMDD>.csv`: every store × SKU of the day with every figure, by store then SKU.
 * - `m2_<YYYYMMDD>.csv`: the "must order" list a buyer sends on: every store × SKU with a suggested order,
 *   by supplier, store and SKU, with the packs and the order's value at unit cost.
 * - `emergency_<YYYYMMDD>.csv`: what is out or runs out within the critical days while it sells (status
 *   `stockout` or `critical`, average daily sales above 0), soonest out first, with what is already on order.
 */
export async function exportStockHealthDay(client: pg.ClientBase, day: { businessId: string; businessDate: string; outputDir: string }): Promise<DayOutputFile[]> {
  const stamp = day.businessDate.replaceAll('-', '');
  await fs.promises.mkdir(day.outputDir, { recursive: true });
  const written: (DayOutputFile & { partial: string })[] = [];
  try {
    for (const [name, query] of Object.entries(exportQueries)) {
      const target = path.join(day.outputDir, `${name}_${stamp}.csv`);
      const partial = `${target}.${process.pid}.part`;
      const file = { name, path: target, partial, rows: 0 };
      written.push(file);
      file.rows = await copyQueryToFile(client, query, [day.businessId, day.businessDate], partial);
    }
    for (const file of written) await fs.promises.rename(file.partial, file.path);
  } catch (error) {
    await Promise.all(written.map((file) => fs.promises.rm(file.partial, { force: true })));
    throw error;
  }
  return written.map(({ name, path: filePath, rows }) => ({ name, path: filePath, rows }));
}

const money = (column: string) => `to_char(${column} / 100.0, 'FM999999999999990.00')`;

const exportQueries: Record<'complete' | 'm2' | 'emergency', string> = {
  complete: `
    SELECT store_code, sku, product_name, supplier, on_hand, sold_last_30_days, avg_daily_sales, days_of_cover,
           lead_time_days, safety_stock, reorder_point, open_po_qty, moq, pack_size, suggested_order_qty,
           ${money('unit_cost_cents')} AS unit_cost, ${money('stock_value_cents')} AS stock_value,
           ${money('order_value_cents')} AS order_value, status
      FROM stock_health_snapshots
     WHERE business_id = $1 AND business_date = $2
     ORDER BY store_code, sku`,
  m2: `
    SELECT supplier, store_code, sku, product_name, suggested_order_qty,
           suggested_order_qty / pack_size AS packs, pack_size, moq, lead_time_days, on_hand, open_po_qty, reorder_point,
           ${money('unit_cost_cents')} AS unit_cost, ${money('order_value_cents')} AS order_value, status
      FROM stock_health_snapshots
     WHERE business_id = $1 AND business_date = $2 AND suggested_order_qty > 0
     ORDER BY supplier, store_code, sku`,
  emergency: `
    SELECT store_code, sku, product_name, status, on_hand, avg_daily_sales, days_of_cover, open_po_qty,
           suggested_order_qty, supplier, lead_time_days
      FROM stock_health_snapshots
     WHERE business_id = $1 AND business_date = $2 AND status IN ('stockout', 'critical') AND avg_daily_sales > 0
     ORDER BY days_of_cover NULLS LAST, avg_daily_sales DESC, store_code, sku`,
};

/** COPY takes no parameters: the two values are checked to be a uuid and a date, then written as literals. Returns the rows written. */
async function copyQueryToFile(client: pg.ClientBase, query: string, [businessId, businessDate]: [string, string], target: string): Promise<number> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(businessId) || !/^\d{4}-\d{2}-\d{2}$/.test(businessDate)) {
    throw new AppError('bad_request', `Not a business and day to export: ${businessId} ${businessDate}.`);
  }
  const sql = query.replace('$1', `'${businessId}'::uuid`).replace('$2', `'${businessDate}'::date`);
  const copy = client.query(copyTo(`COPY (${sql}) TO STDOUT WITH (FORMAT csv, HEADER)`));
  await pipeline(copy, fs.createWriteStream(target));
  return copy.rowCount;
}
