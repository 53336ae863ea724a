import type { BrowseSpec } from '../../warehouse/browse.js';

const bigintId = { sql: 's.id::text', parse: (id: string) => (/^\d{1,18}$/.test(id) ? [id] : []), where: 's.id = $1' };
const money = (column: string) => `to_char(${column} / 100.0, 'FM999999999999990.00')`;

/** Read-only screens over the stock pipelines' day tables, newest day first; scoped by business and store. */
export const stockBrowseSpecs = {
  stockHealth: {
    resource: 'stockSnapshots',
    label: 'Stock health row',
    from: 'stock_health_snapshots s',
    id: bigintId,
    businessColumn: 's.business_id',
    shopColumn: 's.shop_id',
    columns: [
      { name: 'businessDate', sql: 's.business_date::text', type: 'date' },
      { name: 'storeCode', sql: 's.store_code', type: 'string' },
      { name: 'sku', sql: 's.sku', type: 'string' },
      { name: 'productName', sql: 's.product_name', type: 'string' },
      { name: 'status', sql: 's.status', type: 'string' },
      { name: 'onHand', sql: 's.on_hand', type: 'number' },
      { name: 'daysOfCover', sql: 's.days_of_cover::text', type: 'string' },
      { name: 'suggestedOrderQty', sql: 's.suggested_order_qty', type: 'number' },
      { name: 'soldLast30Days', sql: 's.sold_last_30_days', type: 'number' },
      { name: 'avgDailySales', sql: 's.avg_daily_sales::text', type: 'string' },
      { name: 'reorderPoint', sql: 's.reorder_point', type: 'number' },
      { name: 'safetyStock', sql: 's.safety_stock', type: 'number' },
      { name: 'openPoQty', sql: 's.open_po_qty', type: 'number' },
      { name: 'supplier', sql: 's.supplier', type: 'string' },
      { name: 'leadTimeDays', sql: 's.lead_time_days', type: 'number' },
      { name: 'moq', sql: 's.moq', type: 'number' },
      { name: 'packSize', sql: 's.pack_size', type: 'number' },
      { name: 'unitCost', sql: money('s.unit_cost_cents'), type: 'string' },
      { name: 'orderValue', sql: money('s.order_value_cents'), type: 'string' },
      { name: 'sourceRow', sql: 's.source_row', type: 'number' },
    ],
    // Worst first within a day: what needs action is on the first page.
    orderBy: `s.business_date DESC, array_position(ARRAY['stockout','critical','low','healthy','overstock'], s.status), s.days_of_cover NULLS LAST, s.store_code, s.sku`,
  },
  poSnapshots: {
    resource: 'stockSnapshots',
    label: 'PO line',
    from: 'po_snapshots s',
    id: bigintId,
    businessColumn: 's.business_id',
    shopColumn: 's.shop_id',
    columns: [
      { name: 'businessDate', sql: 's.business_date::text', type: 'date' },
      { name: 'poNumber', sql: 's.po_number', type: 'string' },
      { name: 'supplier', sql: 's.supplier', type: 'string' },
      { name: 'sku', sql: 's.sku', type: 'string' },
      { name: 'storeCode', sql: 's.store_code', type: 'string' },
      { name: 'status', sql: 's.status', type: 'string' },
      { name: 'openQty', sql: 's.open_qty', type: 'number' },
      { name: 'isLate', sql: "CASE WHEN s.is_late THEN 'late' ELSE '' END", type: 'string' },
      { name: 'qtyOrdered', sql: 's.qty_ordered', type: 'number' },
      { name: 'qtyReceived', sql: 's.qty_received', type: 'number' },
      { name: 'orderDate', sql: 's.order_date::text', type: 'date' },
      { name: 'expectedDate', sql: 's.expected_date::text', type: 'date' },
      { name: 'daysLate', sql: 's.days_late', type: 'number' },
      { name: 'sourceRow', sql: 's.source_row', type: 'number' },
    ],
    orderBy: 's.business_date DESC, s.is_late DESC, s.supplier, s.po_number, s.sku',
  },
} satisfies Record<string, BrowseSpec>;
