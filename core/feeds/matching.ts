import { distance } from 'fastest-levenshtein';

export interface CatalogProduct {
  id: string;
  name: string;
}

export type ProductMatch =
  | { status: 'exact'; product_id: string; product_name: string; score: 1 }
  | { status: 'fuzzy'; product_id: string; product_name: string; score: number; candidates: { product_id: string; product_name: string; score: number }[] }
  | { status: 'missing'; candidates: { product_id: string; product_name: string; score: number }[] };

/** Names compared without case, accents, punctuation or repeated spaces. */
export function comparableName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** Similarity on a 0–1 scale: 1 − edit distance / length of the longer name. */
export function similarity(a: string, b: string): number {
  const x = comparableName(a);
  const y = comparableName(b);
  if (!x && !y) return 1;
  const longer = Math.max(x.length, y.length);
  return Math.round((1 - distance(x, y) / longer) * 1000) / 1000;
}

/**
 * Matches names from a file against a business's catalog: case-insensitive exact first, then the most
 * similar product at or above the threshold. Distinct names are matched once, however many rows.
 */
export class ProductMatcher {
  private readonly exact = new Map<string, CatalogProduct>();
  private readonly cache = new Map<string, ProductMatch>();

  constructor(
    private readonly catalog: CatalogProduct[],
    private readonly threshold: number,
  ) {
    for (const product of catalog) this.exact.set(product.name.trim().toLowerCase(), product);
  }

  match(name: string): ProductMatch {
    const key = name.trim().toLowerCase();
    const cached = this.cache.get(key);
    if (cached) return cached;
    const result = this.compute(name, key);
    this.cache.set(key, result);
    return result;
  }

  private compute(name: string, key: string): ProductMatch {
    const exact = this.exact.get(key);
    if (exact) return { status: 'exact', product_id: exact.id, product_name: exact.name, score: 1 };
    const scored = this.catalog
      .map((product) => ({ product_id: product.id, product_name: product.name, score: similarity(name, product.name) }))
      .sort((a, b) => b.score - a.score || a.product_name.localeCompare(b.product_name))
      .slice(0, 3);
    const best = scored[0];
    if (best && best.score >= this.threshold) return { status: 'fuzzy', product_id: best.product_id, product_name: best.product_name, score: best.score, candidates: scored };
    return { status: 'missing', candidates: scored.filter((c) => c.score > 0) };
  }
}
