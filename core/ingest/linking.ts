import type pg from 'pg';
import type { Context } from '../context.js';
import { loadMatcher } from '../feeds/catalog.js';
import type { MatchCandidate, ProductMatcher } from '../feeds/matching.js';

/** A store's product as its devices send it: its id (empty when none) and its name. */
export interface StoreProduct {
  business_id: string;
  shop_id: string;
  source_product_id: string;
  product_name: string;
}

export type LinkMethod = 'exact_id' | 'exact_name' | 'alias' | 'fuzzy' | 'none';

/** What the matcher makes of a store's product: `auto` links lines at once, `review` waits for a person. */
export interface LinkDecision extends StoreProduct {
  name_key: string;
  product_id: string | null;
  status: 'auto' | 'review';
  method: LinkMethod;
  confidence: number;
  candidates: MatchCandidate[];
}

/** The name as lines are joined to their remembered link (`ingest_product_links.name_key`); the SQL twin is `lower(btrim(name))`. */
export const nameKeyOf = (name: string) => name.trim().toLowerCase();

/**
 * Decides a store product's link, in order: the device's product id when it is a catalog product's own id,
 * the exact name, an alias of the business, then the most similar product with its score. A score below
 * `threshold` (or no candidate) waits in the review queue with the best candidate suggested. Remembered
 * links (confirmed by a person, or decided before) are applied before this is asked (core/ingest/silver.ts).
 */
export function decideLink(matcher: ProductMatcher, catalogIds: ReadonlySet<string>, product: StoreProduct, threshold: number): LinkDecision {
  const base = { ...product, name_key: nameKeyOf(product.product_name) };
  const id = product.source_product_id.toLowerCase();
  if (id && catalogIds.has(id)) return { ...base, product_id: id, status: 'auto', method: 'exact_id', confidence: 1, candidates: [] };
  const match = matcher.match(product.product_name);
  switch (match.status) {
    case 'exact':
      return { ...base, product_id: match.product_id, status: 'auto', method: 'exact_name', confidence: 1, candidates: [] };
    case 'alias':
      return { ...base, product_id: match.product_id, status: 'auto', method: 'alias', confidence: 1, candidates: [] };
    case 'fuzzy':
      return { ...base, product_id: match.product_id, status: match.score >= threshold ? 'auto' : 'review', method: 'fuzzy', confidence: match.score, candidates: match.candidates };
    case 'missing': {
      const best = match.candidates[0];
      return best
        ? { ...base, product_id: best.product_id, status: 'review', method: 'fuzzy', confidence: best.score, candidates: match.candidates }
        : { ...base, product_id: null, status: 'review', method: 'none', confidence: 0, candidates: [] };
    }
  }
}

interface CachedCatalog {
  version: string;
  matcher: ProductMatcher;
  ids: Set<string>;
}

/**
 * The matchers of businesses' catalogs, kept between batches and built again when a catalog or its aliases
 * change (their count, latest update and aliases' digest are the version): a worker links a batch's new store
 * products without reading 10,000 products each time.
 */
export class CatalogCache {
  private readonly catalogs = new Map<string, CachedCatalog>();

  constructor(private readonly threshold: number) {}

  async get(ctx: Context, client: pg.ClientBase, businessId: string): Promise<CachedCatalog> {
    const { rows } = await client.query<{ version: string }>(
      `SELECT (SELECT count(*) || ':' || COALESCE(max(updated_at)::text, '') FROM products WHERE business_id = $1) || '|' ||
              (SELECT count(*) || ':' || COALESCE(md5(string_agg(alias_key || '=' || product_id, ',' ORDER BY alias_key)), '') FROM product_aliases WHERE business_id = $1) AS version`,
      [businessId],
    );
    const version = rows[0]!.version;
    const cached = this.catalogs.get(businessId);
    if (cached?.version === version) return cached;
    // Fuzzy candidates below the auto threshold are still wanted (the review queue suggests them): the matcher
    // answers `missing` with its candidates then, and decideLink keeps the best.
    const matcher = await loadMatcher(ctx, businessId, this.threshold);
    const ids = new Set((await client.query<{ id: string }>('SELECT id FROM products WHERE business_id = $1', [businessId])).rows.map((row) => row.id));
    const fresh = { version, matcher, ids };
    this.catalogs.set(businessId, fresh);
    return fresh;
  }
}

/**
 * Links a batch's line items (of transactions `transactionPks`) to products: first through the remembered
 * links of their store's product (auto or confirmed), then the store products never seen are decided by the
 * matcher and remembered (ingest_product_links), and their auto links applied. Set-based: two UPDATEs and one
 * INSERT whatever the number of lines; the matcher runs once per new store product.
 */
export async function linkTransactionItems(ctx: Context, client: pg.ClientBase, catalogs: CatalogCache, transactionPks: string[], threshold: number): Promise<{ newStoreProducts: number; queuedForReview: number }> {
  await applyRememberedLinks(client, transactionPks);
  const { rows: unseen } = await client.query<StoreProduct>(
    `SELECT DISTINCT ON (t.business_id, t.shop_id, COALESCE(i.source_product_id, ''), lower(btrim(i.product_name)))
            t.business_id, t.shop_id, COALESCE(i.source_product_id, '') AS source_product_id, i.product_name
     FROM transaction_items i JOIN transactions t ON t.id = i.transaction_pk
     WHERE i.transaction_pk = ANY($1::bigint[]) AND i.product_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM ingest_product_links l
                       WHERE l.business_id = t.business_id AND l.shop_id = t.shop_id
                         AND l.source_product_id = COALESCE(i.source_product_id, '') AND l.name_key = lower(btrim(i.product_name)))
     ORDER BY t.business_id, t.shop_id, COALESCE(i.source_product_id, ''), lower(btrim(i.product_name)), i.id`,
    [transactionPks],
  );
  if (unseen.length === 0) return { newStoreProducts: 0, queuedForReview: 0 };
  const decisions: LinkDecision[] = [];
  for (const businessId of new Set(unseen.map((product) => product.business_id))) {
    const catalog = await catalogs.get(ctx, client, businessId);
    for (const product of unseen) if (product.business_id === businessId) decisions.push(decideLink(catalog.matcher, catalog.ids, product, threshold));
  }
  // Another worker may have decided the same store product meanwhile: its row stands.
  await client.query(
    `INSERT INTO ingest_product_links (business_id, shop_id, source_product_id, product_name, name_key, product_id, status, method, confidence, candidates)
     SELECT business_id, shop_id, source_product_id, product_name, name_key, product_id, status, method, confidence, candidates
     FROM jsonb_to_recordset($1::jsonb) AS d(business_id uuid, shop_id uuid, source_product_id text, product_name text, name_key text, product_id uuid, status text, method text, confidence numeric, candidates jsonb)
     ON CONFLICT (business_id, shop_id, source_product_id, name_key) DO NOTHING`,
    [JSON.stringify(decisions)],
  );
  await applyRememberedLinks(client, transactionPks);
  return { newStoreProducts: decisions.length, queuedForReview: decisions.filter((decision) => decision.status === 'review').length };
}

/**
 * Lines of these transactions take the product of their store product's link, when it is auto or confirmed.
 * The batch's lines are found first, from its transactions' keys (MATERIALIZED), and each looks its link up: with
 * the statistics of a table that has just grown, the planner otherwise started from the links and scanned
 * every silver transaction of the business per link (15 s a batch on PostgreSQL 15, growing with silver).
 */
export async function applyRememberedLinks(client: pg.ClientBase, transactionPks: string[]): Promise<number> {
  const result = await client.query(
    `WITH lines AS MATERIALIZED (
       SELECT i.id, i.product_id, t.business_id, t.shop_id, COALESCE(i.source_product_id, '') AS source_product_id, lower(btrim(i.product_name)) AS name_key
       FROM unnest($1::bigint[]) AS batch(pk)
       JOIN transactions t ON t.id = batch.pk
       JOIN transaction_items i ON i.transaction_pk = batch.pk
     )
     UPDATE transaction_items i
     SET product_id = l.product_id,
         link_method = CASE WHEN l.status = 'confirmed' THEN 'confirmed' ELSE l.method END,
         link_confidence = CASE WHEN l.status = 'confirmed' THEN 1 ELSE l.confidence END,
         updated_at = now()
     FROM lines
     JOIN ingest_product_links l
       ON l.business_id = lines.business_id AND l.shop_id = lines.shop_id
      AND l.source_product_id = lines.source_product_id AND l.name_key = lines.name_key
     WHERE i.id = lines.id
       AND l.status IN ('auto', 'confirmed') AND l.product_id IS NOT NULL
       AND lines.product_id IS DISTINCT FROM l.product_id`,
    [transactionPks],
  );
  return result.rowCount ?? 0;
}
