import type { Context } from '../context.js';
import { browseRow, type BrowseRow, type BrowseSpec } from '../warehouse/browse.js';

const bigintId = { sql: '', parse: (id: string) => (/^\d{1,18}$/.test(id) ? [id] : []), where: '' };
const idOf = (column: string) => ({ ...bigintId, sql: `${column}::text`, where: `${column} = $1` });

/** Silver as people browse it (resources/ingest-silver.ts): scoped by business and, for people assigned some, by shop. */
export const silverBrowseSpecs = {
  transactions: {
    resource: 'silverTransactions',
    label: 'Transaction',
    from: 'transactions t JOIN shops s ON s.id = t.shop_id',
    id: idOf('t.id'),
    businessColumn: 't.business_id',
    shopColumn: 't.shop_id',
    columns: [
      { name: 'transactionId', sql: 't.transaction_id', type: 'string' },
      { name: 'store', sql: `s.name || ' (' || t.store_code || ')'`, type: 'string' },
      { name: 'occurredAt', sql: 't.occurred_at', type: 'datetime' },
      { name: 'total', sql: `to_char(t.total_cents / 100.0, 'FM999999999990.00') || ' ' || t.currency`, type: 'string' },
      { name: 'itemCount', sql: 't.item_count', type: 'number' },
      { name: 'simulated', sql: `CASE WHEN t.simulated THEN 'yes' ELSE 'no' END`, type: 'string' },
      { name: 'processedAt', sql: 't.processed_at', type: 'datetime' },
      { name: 'eventId', sql: 't.event_id', type: 'number' },
      { name: 'businessId', sql: 't.business_id::text', type: 'string' },
    ],
    orderBy: 't.processed_at DESC, t.id DESC',
  },
  items: {
    resource: 'silverTransactions',
    label: 'Line item',
    from: 'transaction_items i JOIN transactions t ON t.id = i.transaction_pk LEFT JOIN products p ON p.id = i.product_id',
    id: idOf('i.id'),
    businessColumn: 'i.business_id',
    shopColumn: 't.shop_id',
    columns: [
      { name: 'transactionId', sql: 't.transaction_id', type: 'string' },
      { name: 'lineNo', sql: 'i.line_no', type: 'number' },
      { name: 'productName', sql: 'i.product_name', type: 'string' },
      { name: 'linkedProduct', sql: 'p.name', type: 'string' },
      { name: 'linkMethod', sql: 'i.link_method', type: 'string' },
      { name: 'linkConfidence', sql: 'i.link_confidence::text', type: 'string' },
      { name: 'qty', sql: 'i.qty::text', type: 'string' },
      { name: 'lineAmount', sql: `to_char(i.line_amount_cents / 100.0, 'FM999999999990.00')`, type: 'string' },
      { name: 'sourceProductId', sql: 'i.source_product_id', type: 'string' },
      { name: 'brand', sql: 'i.brand', type: 'string' },
      { name: 'transactionPk', sql: 'i.transaction_pk', type: 'number' },
    ],
    orderBy: 'i.transaction_pk DESC, i.line_no',
  },
  productLinks: {
    resource: 'productLinks',
    label: 'Product link',
    from: 'ingest_product_links l JOIN shops s ON s.id = l.shop_id LEFT JOIN products p ON p.id = l.product_id',
    id: idOf('l.id'),
    businessColumn: 'l.business_id',
    shopColumn: 'l.shop_id',
    columns: [
      { name: 'productName', sql: 'l.product_name', type: 'string' },
      { name: 'sourceProductId', sql: 'l.source_product_id', type: 'string' },
      { name: 'store', sql: 's.name', type: 'string' },
      { name: 'product', sql: 'p.name', type: 'string' },
      { name: 'confidence', sql: 'l.confidence::text', type: 'string' },
      { name: 'method', sql: 'l.method', type: 'string' },
      { name: 'status', sql: 'l.status', type: 'string' },
      { name: 'candidates', sql: `(SELECT string_agg((c->>'product_name') || ' ' || (c->>'score'), ', ') FROM jsonb_array_elements(l.candidates) c)`, type: 'string' },
      { name: 'productId', sql: 'l.product_id::text', type: 'string' },
      { name: 'updatedAt', sql: 'l.updated_at', type: 'datetime' },
    ],
    orderBy: 'l.updated_at DESC, l.id DESC',
  },
  failedEvents: {
    resource: 'ingestFailures',
    label: 'Failed event',
    from: `ingest_events e`,
    id: idOf('e.id'),
    businessColumn: 'e.business_id',
    shopColumn: 'e.shop_id',
    columns: [
      { name: 'status', sql: 'e.status', type: 'string' },
      { name: 'storeCode', sql: 'e.store_code', type: 'string' },
      { name: 'transactionId', sql: 'e.transaction_id', type: 'string' },
      { name: 'error', sql: 'e.error', type: 'string' },
      { name: 'attempts', sql: 'e.attempts', type: 'number' },
      { name: 'receivedAt', sql: 'e.received_at', type: 'datetime' },
      { name: 'processedAt', sql: 'e.processed_at', type: 'datetime' },
      { name: 'payload', sql: 'e.payload::text', type: 'string' },
      { name: 'businessId', sql: 'e.business_id::text', type: 'string' },
    ],
    orderBy: 'e.id DESC',
  },
  alerts: {
    resource: 'dataQualityAlerts',
    label: 'Data-quality alert',
    from: 'data_quality_alerts a LEFT JOIN ingest_events e ON e.id = a.event_id',
    id: idOf('a.id'),
    businessColumn: 'a.business_id',
    shopColumn: 'e.shop_id',
    columns: [
      { name: 'severity', sql: 'a.severity', type: 'string' },
      { name: 'rule', sql: 'a.rule', type: 'string' },
      { name: 'message', sql: 'a.message', type: 'string' },
      { name: 'storeCode', sql: 'a.store_code', type: 'string' },
      { name: 'transactionId', sql: 'a.transaction_id', type: 'string' },
      { name: 'openedAt', sql: 'a.opened_at', type: 'datetime' },
      { name: 'acknowledged', sql: `CASE WHEN a.acknowledged_at IS NULL THEN 'no' ELSE 'yes' END`, type: 'string' },
      { name: 'acknowledgedAt', sql: 'a.acknowledged_at', type: 'datetime' },
      { name: 'eventId', sql: 'a.event_id', type: 'number' },
    ],
    orderBy: 'a.acknowledged_at IS NOT NULL, a.opened_at DESC, a.id DESC',
  },
} satisfies Record<string, BrowseSpec>;

/**
 * A silver transaction the caller may see, with its line items (each with its linked product, link method and
 * confidence). The transaction is checked against the caller's scope; its lines are read by its key (indexed).
 */
export async function silverTransactionWithItems(ctx: Context, id: string): Promise<BrowseRow & { items: BrowseRow[] }> {
  const transaction = await browseRow(ctx, silverBrowseSpecs.transactions, id);
  const spec = silverBrowseSpecs.items;
  const { rows } = await ctx.db.pool.query<BrowseRow>(
    `SELECT ${spec.id.sql} AS id, ${spec.columns.map((c) => `${c.sql} AS "${c.name}"`).join(', ')} FROM ${spec.from} WHERE i.transaction_pk = $1 ORDER BY i.line_no`,
    [transaction.id],
  );
  return { ...transaction, items: rows };
}
