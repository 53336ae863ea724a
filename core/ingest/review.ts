import type pg from 'pg';
import { z } from 'zod';
import { writeAudit, writeAudits } from '../auth/audit.js';
import { callerBusiness } from '../auth/business.js';
import { assertCan } from '../auth/permissions.js';
import { scopeIncludes } from '../auth/scope.js';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError, notFound } from '../errors.js';
import { foldTransactionsIntoGold } from './gold.js';
import { INGEST_EVENTS_CHANNEL } from './silver.js';

const bigintId = (what: string) => z.string().regex(/^\d{1,18}$/, `must be ${what} id (a number)`);

export const confirmLinkInput = z.object({ link_id: bigintId('a product link') });
export const relinkInput = z.object({ link_id: bigintId('a product link'), product_id: z.string().uuid('must be the id of a product of your catalog') });

export interface ProductLinkView {
  id: string;
  business_id: string;
  shop_id: string;
  source_product_id: string;
  product_name: string;
  product_id: string | null;
  status: string;
  method: string;
  confidence: string;
  confirmed_by: string | null;
  /** Line items now linked through this store product. */
  lines_relinked: number;
}

interface LinkRow {
  id: string;
  business_id: string;
  shop_id: string;
  source_product_id: string;
  product_name: string;
  name_key: string;
  product_id: string | null;
  status: string;
  method: string;
  confidence: string;
  confirmed_by: string | null;
}

const linkColumns = 'id::text, business_id, shop_id, source_product_id, product_name, name_key, product_id, status, method, confidence::text, confirmed_by';

/**
 * A person confirms the suggested product of a store product (from the review queue, or any auto link): the
 * link is remembered as confirmed for that store's product id and name, and every line of it is linked.
 */
export async function confirmProductLink(ctx: Context, input: z.infer<typeof confirmLinkInput>): Promise<ProductLinkView> {
  return setProductLink(ctx, input.link_id, null);
}

/** A person links a store product to another product of the catalog; remembered, audited, lines re-linked. */
export async function relinkProduct(ctx: Context, input: z.input<typeof relinkInput>): Promise<ProductLinkView> {
  const parsed = relinkInput.safeParse(input);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({ field: issue.path.join('.'), reason: issue.message }));
    throw new AppError('validation_failed', `Choose the product to re-link to: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}.`, details);
  }
  return setProductLink(ctx, parsed.data.link_id, parsed.data.product_id);
}

/**
 * The link's lines change product, so gold's per-product aggregates change: the transactions holding those
 * lines are locked (a worker replacing one waits), folded out of gold (-1), re-linked, and folded in (+1), in
 * one transaction with the link and its audit row.
 */
async function setProductLink(ctx: Context, linkId: string, productId: string | null): Promise<ProductLinkView> {
  assertCan(ctx.user, 'productLinks', 'edit');
  if (ctx.user.kind !== 'user') throw new AppError('forbidden', 'Product links are confirmed by a person.');
  const userId = ctx.user.id;
  return withTransaction(ctx.db.pool, async (client) => {
    const { rows } = await client.query<LinkRow>(`SELECT ${linkColumns} FROM ingest_product_links WHERE id = $1 FOR UPDATE`, [linkId]);
    const before = rows[0];
    if (!before || !scopeIncludes(ctx.scope, before.business_id, before.shop_id)) throw notFound(`Product link ${linkId}`);
    const chosen = productId ?? before.product_id;
    if (!chosen) throw new AppError('validation_failed', `No product is suggested for “${before.product_name}”: choose one of your catalog to link it to (re-link).`, [{ field: 'product_id', reason: 'required' }]);
    const product = await client.query<{ name: string }>('SELECT name FROM products WHERE id = $1 AND business_id = $2', [chosen, before.business_id]);
    if (!product.rows[0]) throw new AppError('validation_failed', `Product ${chosen} is not in this business's catalog.`, [{ field: 'product_id', reason: 'not a product of this business' }]);

    const { rows: affected } = await client.query<{ id: string }>(
      `SELECT t.id::text FROM transactions t
       WHERE t.business_id = $1 AND t.shop_id = $2
         AND t.id IN (SELECT i.transaction_pk FROM transaction_items i WHERE i.business_id = $1 AND COALESCE(i.source_product_id, '') = $3 AND lower(btrim(i.product_name)) = $4)
       ORDER BY t.id FOR UPDATE`,
      [before.business_id, before.shop_id, before.source_product_id, before.name_key],
    );
    const pks = affected.map((row) => row.id);
    if (pks.length > 0) await foldTransactionsIntoGold(client, pks, -1);
    const { rows: after } = await client.query<LinkRow>(
      `UPDATE ingest_product_links SET product_id = $2, status = 'confirmed', confirmed_by = $3, confirmed_at = now(), updated_at = now()
       WHERE id = $1 RETURNING ${linkColumns}`,
      [linkId, chosen, userId],
    );
    const relinked = await relinkLines(client, after[0]!, pks);
    if (pks.length > 0) await foldTransactionsIntoGold(client, pks, 1);
    await writeAudit(
      ctx,
      {
        resource: 'productLinks',
        recordId: linkId,
        action: productId && productId !== before.product_id ? 'relink' : 'confirm',
        businessId: before.business_id,
        before: { product_id: before.product_id, status: before.status, method: before.method, confidence: before.confidence },
        after: { product_id: chosen, product_name: product.rows[0].name, status: 'confirmed', lines_relinked: relinked },
      },
      client,
    );
    const { name_key: _key, ...view } = after[0]!;
    return { ...view, lines_relinked: relinked };
  });
}

export const relinkChoicesInput = z.object({
  link_id: bigintId('a product link'),
  /** Part of a product's name; the business's first products by name when empty. */
  search: z.string().trim().max(200, 'must be at most 200 characters').default(''),
});

export interface RelinkChoice {
  product_id: string;
  name: string;
  category: string | null;
}

/**
 * The products a store product may be re-linked to: its business's catalog (never another's), those whose
 * name holds the search text, names starting with it first. At most 25.
 */
export async function relinkChoices(ctx: Context, input: z.input<typeof relinkChoicesInput>): Promise<{ link: Pick<ProductLinkView, 'id' | 'product_name' | 'product_id'>; products: RelinkChoice[] }> {
  assertCan(ctx.user, 'productLinks', 'edit');
  const { link_id: linkId, search } = relinkChoicesInput.parse(input);
  const { rows } = await ctx.db.pool.query<Pick<LinkRow, 'id' | 'business_id' | 'shop_id' | 'product_name' | 'product_id'>>(
    'SELECT id::text, business_id, shop_id, product_name, product_id FROM ingest_product_links WHERE id = $1',
    [linkId],
  );
  const link = rows[0];
  if (!link || !scopeIncludes(ctx.scope, link.business_id, link.shop_id)) throw notFound(`Product link ${linkId}`);
  const { rows: products } = await ctx.db.pool.query<RelinkChoice>(
    `SELECT id AS product_id, name, category FROM products
     WHERE business_id = $1 AND ($2 = '' OR strpos(lower(name), lower($2)) > 0)
     ORDER BY strpos(lower(name), lower($2)) <> 1, name LIMIT 25`,
    [link.business_id, search],
  );
  return { link: { id: link.id, product_name: link.product_name, product_id: link.product_id }, products };
}

async function relinkLines(client: pg.ClientBase, link: LinkRow, transactionPks: string[]): Promise<number> {
  if (transactionPks.length === 0) return 0;
  const result = await client.query(
    `UPDATE transaction_items i SET product_id = $5, link_method = 'confirmed', link_confidence = 1, updated_at = now()
     WHERE i.transaction_pk = ANY($1::bigint[]) AND i.business_id = $2 AND COALESCE(i.source_product_id, '') = $3 AND lower(btrim(i.product_name)) = $4`,
    [transactionPks, link.business_id, link.source_product_id, link.name_key, link.product_id],
  );
  return result.rowCount ?? 0;
}

export const retryFailedInput = z.object({
  business_id: z.string().uuid().optional(),
  /** Only these events; every failed event of the business (in the caller's shops) when left out. */
  event_ids: z.array(bigintId('an event')).max(10_000).optional(),
});

/**
 * Sends failed events back to pending (after their store was created or their data corrected): the worker is
 * woken at once by the notification sent at commit. Audited with the events' ids.
 */
export async function retryFailedEvents(ctx: Context, input: z.infer<typeof retryFailedInput>): Promise<{ retried: number; event_ids: string[] }> {
  assertCan(ctx.user, 'ingestFailures', 'retry');
  const business = await callerBusiness(ctx, input.business_id, {
    refused: 'You can only retry your own business’s events.',
    missing: 'Say which business’s events to retry: business_id is required for admins.',
  });
  const shops = ctx.scope.kind === 'business' ? ctx.scope.shopIds : null;
  return withTransaction(ctx.db.pool, async (client) => {
    const { rows } = await client.query<{ id: string; error: string | null }>(
      `UPDATE ingest_events e SET status = 'pending', error = NULL, processed_at = NULL
       FROM (SELECT id, error FROM ingest_events WHERE business_id = $1 AND status = 'failed'
               AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[])) AND ($3::uuid[] IS NULL OR shop_id = ANY($3::uuid[]))
             FOR UPDATE) old
       WHERE e.id = old.id
       RETURNING e.id::text, old.error`,
      [business.id, input.event_ids ?? null, shops],
    );
    if (input.event_ids && rows.length < input.event_ids.length) {
      const found = new Set(rows.map((row) => row.id));
      const missing = input.event_ids.filter((id) => !found.has(id));
      throw new AppError('validation_failed', `Only failed events of ${business.name} can be retried; not: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? '…' : ''}.`, [{ field: 'event_ids', reason: 'not failed events of this business' }]);
    }
    if (rows.length > 0) {
      await writeAudits(ctx, rows.map((row) => ({ resource: 'ingestFailures', recordId: row.id, action: 'retry', businessId: business.id, before: { status: 'failed', error: row.error }, after: { status: 'pending' } })), client);
      await client.query(`NOTIFY ${INGEST_EVENTS_CHANNEL}`);
    }
    return { retried: rows.length, event_ids: rows.map((row) => row.id) };
  });
}

export interface LinkCoverage {
  line_items: number;
  linked: number;
  /** Share of line items linked to a product, 0–1 (1 when there are none). */
  coverage: number;
  /** Store products waiting in the review queue. */
  awaiting_review: number;
}

/** How much of a business's silver (the caller's shops) is linked to its catalog. */
export async function linkCoverage(ctx: Context, input: { business_id?: string }): Promise<LinkCoverage> {
  assertCan(ctx.user, 'productLinks', 'list');
  const business = await callerBusiness(ctx, input.business_id, {
    refused: 'You can only see your own business’s links.',
    missing: 'Say which business: business_id is required for admins.',
  });
  const shops = ctx.scope.kind === 'business' ? ctx.scope.shopIds : null;
  const { rows } = await ctx.db.pool.query<{ items: string; linked: string; review: string }>(
    `SELECT (SELECT count(*) FROM transaction_items i JOIN transactions t ON t.id = i.transaction_pk WHERE i.business_id = $1 AND ($2::uuid[] IS NULL OR t.shop_id = ANY($2::uuid[]))) AS items,
            (SELECT count(*) FROM transaction_items i JOIN transactions t ON t.id = i.transaction_pk WHERE i.business_id = $1 AND i.product_id IS NOT NULL AND ($2::uuid[] IS NULL OR t.shop_id = ANY($2::uuid[]))) AS linked,
            (SELECT count(*) FROM ingest_product_links WHERE business_id = $1 AND status = 'review' AND ($2::uuid[] IS NULL OR shop_id = ANY($2::uuid[]))) AS review`,
    [business.id, shops],
  );
  const items = Number(rows[0]!.items);
  const linked = Number(rows[0]!.linked);
  return { line_items: items, linked, coverage: items === 0 ? 1 : Math.round((linked / items) * 10_000) / 10_000, awaiting_review: Number(rows[0]!.review) };
}
