import type { PoolClient } from 'pg';
import { z } from 'zod';
import { assertCan } from '../auth/permissions.js';
import { writeAudits } from '../auth/audit.js';
import type { Context } from '../context.js';
import { MAX_PRICE_CENTS } from '../records/definitions.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { parseDecimal } from '../files/numbers.js';
import { feedBusinessId } from './preview.js';
import type { DataType } from './templates.js';
import { findUpload } from './uploads.js';

/** Products "Create missing" makes at once: one statement each for them and for their audit entries. */
const MAX_PRODUCTS_AT_ONCE = 5000;

/**
 * Products named in a feed but missing from the catalog, created in the commit's transaction: priced at the
 * feed's most frequent price for each (sales feeds; 0 for cost feeds, which give none), cost unknown (null)
 * until a cost feed or a person sets it. Answers name → id; names that exist already (any case) are left alone.
 */
export async function createProducts(ctx: Context, client: PoolClient, input: { businessId: string; feedId: number; dataType: DataType }, names: string[]): Promise<Record<string, string>> {
  if (names.length === 0) return {};
  // One pass over the staged rows of the new products (those without a product id yet).
  const prices =
    input.dataType === 'sales'
      ? `SELECT DISTINCT ON (lower(product_name)) lower(product_name) AS name_key, least(round(unit_price * 100), $4)::int AS cents
         FROM (SELECT product_name, unit_price, count(*) AS n FROM staging_sales_items WHERE data_feed_id = $3 AND product_id IS NULL GROUP BY product_name, unit_price) counted
         ORDER BY lower(product_name), n DESC, unit_price`
      : 'SELECT NULL::text AS name_key, NULL::int AS cents WHERE $3::int IS NULL AND $4::int IS NULL';
  const result = await client.query<{ id: string; name: string; selling_price_cents: number }>(
    `WITH prices AS (${prices})
     INSERT INTO products (business_id, name, selling_price_cents, cost_price_cents)
     SELECT $1, n, coalesce(pr.cents, 0), NULL FROM unnest($2::text[]) AS n LEFT JOIN prices pr ON pr.name_key = lower(n)
     WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.business_id = $1 AND lower(p.name) = lower(n))
     ON CONFLICT (business_id, name) DO NOTHING RETURNING id, name, selling_price_cents`,
    [input.businessId, names, input.feedId, MAX_PRICE_CENTS],
  );
  await writeAudits(
    ctx,
    result.rows.map((row) => ({ resource: 'products', recordId: row.id, action: 'create', businessId: input.businessId, after: { ...row, cost_price_cents: null, businessId: input.businessId, source: 'feed commit' } })),
    client,
  );
  return Object.fromEntries(result.rows.map((row) => [row.name, row.id]));
}

/** An amount in JSON (a number, or a string with a decimal point) to cents; empty is "not given" (null). */
const moneyToCents = z
  .union([z.number(), z.string()])
  .optional()
  .nullable()
  .transform((value, ctx) => {
    if (value === undefined || value === null || value === '') return null;
    // JSON writes decimals with a point: "1.125" is one and an eighth (not 1,125).
    const decimal = parseDecimal(String(value), '.');
    if (decimal === null || decimal.startsWith('-')) {
      ctx.addIssue({ code: 'custom', message: 'must be a non-negative amount' });
      return z.NEVER;
    }
    // To the nearest cent, half up, in digits (0.335 → 34; floating point makes 1.005 × 100 = 100.4999…).
    const [int, frac = ''] = decimal.split('.');
    const cents = Number(int) * 100 + Number(frac.padEnd(2, '0').slice(0, 2)) + (frac.length > 2 && frac[2]! >= '5' ? 1 : 0);
    if (cents > MAX_PRICE_CENTS) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${(MAX_PRICE_CENTS / 100).toLocaleString('en-US')}` });
      return z.NEVER;
    }
    return cents;
  });

export const autoCreateInput = z
  .object({
    business_id: z.string().uuid().optional(),
    /** Create every product this upload's preview found missing, priced from the file unless `products` says otherwise. */
    upload_token: z.string().uuid('must be an upload token from a preview').optional(),
    products: z
      .array(
        z.object({
          name: z.string().trim().min(1).max(200),
          category: z.string().trim().max(200).optional().nullable(),
          unit: z.string().trim().max(40).optional().nullable(),
          /** Not given: the file's most frequent price (with an upload token), else 0. */
          selling_price: moneyToCents,
          /** Not given: unknown (null), never 0. */
          cost_price: moneyToCents,
        }),
      )
      .max(MAX_PRODUCTS_AT_ONCE)
      .default([]),
  })
  .refine((input) => input.upload_token !== undefined || input.products.length > 0, { message: 'name the products to create, or send the upload_token of a preview to create its missing products' });

/**
 * "Create missing" from the preview's side panel: creates the named products, or every product an upload's
 * preview found missing (priced from the file, as shown for confirmation; a price or cost given for a name
 * wins), in one set-based insert whose audit entries are written in one statement, in one transaction.
 * Names that exist already (any case) are found, not created. Answers name → id, and the names created.
 */
export async function autoCreateProducts(ctx: Context, input: z.infer<typeof autoCreateInput>): Promise<{ success: true; products: Record<string, string>; created: string[] }> {
  assertCan(ctx.user, 'feeds', 'new');
  assertCan(ctx.user, 'products', 'new');
  let businessId: string;
  const wanted = new Map<string, { name: string; category: string | null; unit: string | null; price_cents: number | null; cost_cents: number | null }>();
  if (input.upload_token !== undefined) {
    const upload = await findUpload(ctx, input.upload_token);
    businessId = upload.businessId;
    const found = await ctx.db.pool.query<{ name: string; cents: number | null }>(
      'SELECT name, least(round(price * 100), $2)::int AS cents FROM upload_new_products WHERE token = $1 ORDER BY name',
      [upload.token, MAX_PRICE_CENTS],
    );
    for (const row of found.rows) wanted.set(row.name.toLowerCase(), { name: row.name, category: null, unit: null, price_cents: row.cents, cost_cents: null });
  } else businessId = await feedBusinessId(ctx, input.business_id);
  for (const product of input.products) {
    const key = product.name.toLowerCase();
    const fromFile = wanted.get(key);
    wanted.set(key, {
      name: fromFile?.name ?? product.name,
      category: product.category ?? null,
      unit: product.unit || null,
      price_cents: product.selling_price ?? fromFile?.price_cents ?? null,
      cost_cents: product.cost_price,
    });
  }
  if (wanted.size > MAX_PRODUCTS_AT_ONCE) throw new AppError('validation_failed', `This file names ${wanted.size} products missing from your catalog; at most ${MAX_PRODUCTS_AT_ONCE} are created at once. Split the file, or create the products from a product import first.`);
  const rows = [...wanted.values()];
  return withTransaction(ctx.db.pool, async (tx) => {
    const existing = await tx.query<{ id: string; name_key: string }>('SELECT id, lower(name) AS name_key FROM products WHERE business_id = $1 AND lower(name) = ANY($2::text[])', [businessId, [...wanted.keys()]]);
    const created = await tx.query<{ id: string; name: string; category: string | null; unit: string; selling_price_cents: number; cost_price_cents: number | null }>(
      `INSERT INTO products (business_id, name, category, unit, selling_price_cents, cost_price_cents)
       SELECT $1, w.name, w.category, coalesce(w.unit, 'each'), coalesce(w.price_cents, 0), w.cost_cents
       FROM jsonb_to_recordset($2::jsonb) AS w(name text, category text, unit text, price_cents int, cost_cents int)
       WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.business_id = $1 AND lower(p.name) = lower(w.name))
       ON CONFLICT (business_id, name) DO NOTHING
       RETURNING id, name, category, unit, selling_price_cents, cost_price_cents`,
      [businessId, JSON.stringify(rows)],
    );
    await writeAudits(ctx, created.rows.map((row) => ({ resource: 'products', recordId: row.id, action: 'create', businessId, after: { ...row, businessId, source: 'create missing' } })), tx);
    const ids = new Map<string, string>([...existing.rows.map((row) => [row.name_key, row.id] as const), ...created.rows.map((row) => [row.name.toLowerCase(), row.id] as const)]);
    const products: Record<string, string> = {};
    for (const product of input.products) {
      const id = ids.get(product.name.toLowerCase());
      if (id) products[product.name] = id;
    }
    for (const row of rows) {
      const id = ids.get(row.name.toLowerCase());
      if (id && !(row.name in products)) products[row.name] = id;
    }
    return { success: true as const, products, created: created.rows.map((row) => row.name) };
  });
}
