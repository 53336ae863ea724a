import { assertCan, type Resource } from '../auth/permissions.js';
import type { Context } from '../context.js';
import { AppError } from '../errors.js';
import { listWindow } from '../paging.js';

export type ColumnType = 'string' | 'number' | 'date' | 'datetime';

/** A read-only table of the warehouse as people browse it: columns, filters, and whose rows they are. */
export interface BrowseSpec {
  resource: Resource;
  label: string;
  from: string;
  /** SQL of a row's id, and how to match one id again. */
  id: { sql: string; parse(id: string): unknown[]; where: string };
  businessColumn: string;
  /** SQL of the row's shop (our shops' id), for readers limited to some shops; none: business-wide rows. */
  shopColumn?: string;
  columns: { name: string; sql: string; type: ColumnType }[];
  orderBy: string;
}

/** Staged rows are named "feed:row" and belong to the business of their feed. */
const stagedRowKey = {
  id: { sql: `s.data_feed_id || ':' || s.row_number`, parse: splitFeedRow, where: 's.data_feed_id = $1 AND s.row_number = $2' },
  businessColumn: 's.business_id',
};

export const browseSpecs = {
  stagingSales: {
    resource: 'staging',
    label: 'Staged sales row',
    from: 'staging_sales_items s',
    ...stagedRowKey,
    columns: [
      { name: 'dataFeedId', sql: 's.data_feed_id', type: 'number' },
      { name: 'rowNumber', sql: 's.row_number', type: 'number' },
      { name: 'productName', sql: 's.product_name', type: 'string' },
      { name: 'productId', sql: 's.product_id::text', type: 'string' },
      { name: 'quantity', sql: 's.quantity::text', type: 'string' },
      { name: 'unitPrice', sql: 's.unit_price::text', type: 'string' },
      { name: 'discount', sql: 's.discount::text', type: 'string' },
      { name: 'transactionDate', sql: 's.transaction_date::text', type: 'date' },
      { name: 'customer', sql: 's.customer', type: 'string' },
      { name: 'channel', sql: 's.channel', type: 'string' },
      { name: 'orderId', sql: 's.order_id', type: 'string' },
    ],
    orderBy: 's.data_feed_id DESC, s.row_number',
  },
  stagingCosts: {
    resource: 'staging',
    label: 'Staged cost row',
    from: 'staging_costs s',
    ...stagedRowKey,
    columns: [
      { name: 'dataFeedId', sql: 's.data_feed_id', type: 'number' },
      { name: 'rowNumber', sql: 's.row_number', type: 'number' },
      { name: 'productName', sql: 's.product_name', type: 'string' },
      { name: 'cost', sql: 's.cost::text', type: 'string' },
      { name: 'costDate', sql: 's.cost_date::text', type: 'date' },
      { name: 'costType', sql: 's.cost_type', type: 'string' },
    ],
    orderBy: 's.data_feed_id DESC, s.row_number',
  },
  productCosts: {
    resource: 'products',
    label: 'Product cost',
    from: 'product_costs c JOIN products p ON p.id = c.product_id',
    id: { sql: 'c.id::text', parse: (id) => (/^\d{1,18}$/.test(id) ? [id] : []), where: 'c.id = $1' },
    businessColumn: 'c.business_id',
    columns: [
      { name: 'productName', sql: 'p.name', type: 'string' },
      { name: 'costType', sql: 'c.cost_type', type: 'string' },
      { name: 'amount', sql: 'c.amount::text', type: 'string' },
      { name: 'effectiveFrom', sql: 'c.effective_from::text', type: 'date' },
      { name: 'dataFeedId', sql: 'c.data_feed_id', type: 'number' },
      { name: 'createdAt', sql: 'c.created_at', type: 'datetime' },
    ],
    orderBy: 'p.name, c.cost_type, c.effective_from DESC',
  },
} satisfies Record<string, BrowseSpec>;

function splitFeedRow(id: string): unknown[] {
  const match = /^(\d{1,9}):(\d{1,9})$/.exec(id);
  return match ? [Number(match[1]), Number(match[2])] : [];
}

export type BrowseRow = Record<string, unknown> & { id: string };

function select(spec: BrowseSpec): string {
  return [`${spec.id.sql} AS id`, ...spec.columns.map((c) => `${c.sql} AS "${c.name}"`)].join(', ');
}

/** Rows of a browse table the caller may see, with equality filters on its columns. */
export async function browseRows(ctx: Context, spec: BrowseSpec, options: { filters?: Record<string, string>; skip?: number; take?: number } = {}): Promise<{ rows: BrowseRow[]; total: number }> {
  assertCan(ctx.user, spec.resource, 'list');
  const params: unknown[] = [];
  const clauses: string[] = [];
  if (ctx.scope.kind === 'business') {
    params.push(ctx.scope.businessId);
    clauses.push(`${spec.businessColumn} = $${params.length}`);
    if (spec.shopColumn && ctx.scope.shopIds) {
      params.push(ctx.scope.shopIds);
      clauses.push(`${spec.shopColumn} = ANY($${params.length}::uuid[])`);
    }
  }
  for (const [name, value] of Object.entries(options.filters ?? {})) {
    const column = spec.columns.find((c) => c.name === name);
    if (!column) throw new AppError('bad_request', `Cannot filter by "${name}".`);
    params.push(value);
    clauses.push(column.type === 'string' ? `${column.sql} ILIKE '%' || $${params.length} || '%'` : `${column.sql}::text = $${params.length}`);
  }
  const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
  const { skip, take } = listWindow(options);
  const [rows, total] = await Promise.all([
    ctx.db.pool.query<BrowseRow>(`SELECT ${select(spec)} FROM ${spec.from} ${where} ORDER BY ${spec.orderBy} OFFSET ${skip} LIMIT ${take}`, params),
    ctx.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${spec.from} ${where}`, params),
  ]);
  return { rows: rows.rows, total: Number(total.rows[0]!.n) };
}

/** One row by id, or "not found" (also when it belongs to another business). */
export async function browseRow(ctx: Context, spec: BrowseSpec, id: string): Promise<BrowseRow> {
  assertCan(ctx.user, spec.resource, 'show');
  const idParams = spec.id.parse(id);
  if (idParams.length === 0) throw new AppError('not_found', `${spec.label} ${id} was not found.`);
  const params = [...idParams];
  let where = spec.id.where;
  if (ctx.scope.kind === 'business') {
    params.push(ctx.scope.businessId);
    where += ` AND ${spec.businessColumn} = $${params.length}`;
    if (spec.shopColumn && ctx.scope.shopIds) {
      params.push(ctx.scope.shopIds);
      where += ` AND ${spec.shopColumn} = ANY($${params.length}::uuid[])`;
    }
  }
  const result = await ctx.db.pool.query<BrowseRow>(`SELECT ${select(spec)} FROM ${spec.from} WHERE ${where}`, params);
  if (!result.rows[0]) throw new AppError('not_found', `${spec.label} ${id} was not found.`);
  return result.rows[0];
}
