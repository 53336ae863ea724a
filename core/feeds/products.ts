import type { PoolClient } from 'pg';
import { z } from 'zod';
import { assertCan } from '../auth/permissions.js';
import { writeAudits } from '../auth/audit.js';
import type { Context } from '../context.js';
import { MAX_PRICE_CENTS } from '../records/definitions.js';
import { createRecord } from '../records/service.js';
import { parseDecimal } from './values.js';
import { feedBusinessId } from './preview.js';

/**
 * Products named in a feed but missing from the catalog, created in the commit's transaction (price 0
 * until someone sets it). Answers name → id; names that exist already (any case) are left alone.
 */
export async function createProducts(ctx: Context, client: PoolClient, businessId: string, names: string[]): Promise<Record<string, string>> {
  if (names.length === 0) return {};
  const result = await client.query<{ id: string; name: string }>(
    `INSERT INTO products (business_id, name, selling_price_cents, cost_price_cents)
     SELECT $1, n, 0, 0 FROM unnest($2::text[]) AS n
     WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.business_id = $1 AND lower(p.name) = lower(n))
     ON CONFLICT (business_id, name) DO NOTHING RETURNING id, name`,
    [businessId, names],
  );
  await writeAudits(ctx, result.rows.map((row) => ({ resource: 'products', recordId: row.id, action: 'create', businessId, after: { ...row, businessId, source: 'feed commit' } })), client);
  return Object.fromEntries(result.rows.map((row) => [row.name, row.id]));
}

const moneyToCents = z
  .union([z.number(), z.string()])
  .optional()
  .nullable()
  .transform((value, ctx) => {
    if (value === undefined || value === null || value === '') return 0;
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

export const autoCreateInput = z.object({
  business_id: z.string().uuid().optional(),
  products: z
    .array(
      z.object({
        name: z.string().trim().min(1).max(200),
        category: z.string().trim().max(200).optional().nullable(),
        unit: z.string().trim().max(40).optional().nullable(),
        selling_price: moneyToCents,
        cost_price: moneyToCents,
      }),
    )
    .min(1)
    .max(1000),
});

/** "Create missing" from the preview's side panel: creates each named product (or finds it), answers name → id. */
export async function autoCreateProducts(ctx: Context, input: z.infer<typeof autoCreateInput>): Promise<{ success: true; products: Record<string, string>; created: string[] }> {
  assertCan(ctx.user, 'feeds', 'new');
  assertCan(ctx.user, 'products', 'new');
  const businessId = await feedBusinessId(ctx, input.business_id);
  const products: Record<string, string> = {};
  const created: string[] = [];
  for (const product of input.products) {
    const existing = await ctx.db.prisma.product.findFirst({ where: { businessId, name: { equals: product.name, mode: 'insensitive' } } });
    if (existing) {
      products[product.name] = existing.id;
      continue;
    }
    const row = await createRecord(ctx, 'products', {
      businessId,
      name: product.name,
      category: product.category ?? null,
      unit: product.unit || undefined,
      sellingPriceCents: product.selling_price,
      costPriceCents: product.cost_price,
    });
    products[product.name] = row.id as string;
    created.push(product.name);
  }
  return { success: true, products, created };
}
