import { distance } from 'fastest-levenshtein';

export interface CatalogProduct {
  id: string;
  name: string;
}

/** Another name of a catalog product, chosen by a person for the names their files write. */
export interface CatalogAlias {
  alias: string;
  productId: string;
}

export interface MatchCandidate {
  product_id: string;
  product_name: string;
  score: number;
}

export type ProductMatch =
  | { status: 'exact'; product_id: string; product_name: string; score: 1 }
  | { status: 'alias'; product_id: string; product_name: string; score: 1; alias: string }
  | { status: 'fuzzy'; product_id: string; product_name: string; score: number; candidates: MatchCandidate[] }
  | { status: 'missing'; candidates: MatchCandidate[] };

/** Names compared without case, accents, punctuation or repeated spaces. */
export function comparableName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/**
 * Similarity on a 0–1 scale of two names, as the best of three readings: their characters (1 − edit
 * distance / length of the longer), their words sorted ("croissant butter" and "butter croissant" are the
 * same words), and their shared words first and then each one's others (so the words they do not share
 * are compared with each other). A name that is only part of another ("Croissant", "Chocolate Croissant")
 * is not taken for it: the words it lacks count against it.
 */
export function similarity(a: string, b: string): number {
  return similarityOfComparable(comparableName(a), comparableName(b));
}

function similarityOfComparable(x: string, y: string): number {
  if (!x && !y) return 1;
  const xWords = x.split(' ');
  const yWords = y.split(' ');
  const sortedWords = ratio([...xWords].sort().join(' '), [...yWords].sort().join(' '));
  const yWordSet = new Set(yWords);
  const shared = [...new Set(xWords.filter((word) => yWordSet.has(word)))].sort();
  const sharedSet = new Set(shared);
  const sharedFirst = ratio([...shared, ...xWords.filter((word) => !sharedSet.has(word)).sort()].join(' '), [...shared, ...yWords.filter((word) => !sharedSet.has(word)).sort()].join(' '));
  return Math.round(Math.max(ratio(x, y), sortedWords, sharedFirst) * 1000) / 1000;
}

function ratio(x: string, y: string): number {
  const longer = Math.max(x.length, y.length);
  return longer === 0 ? 1 : 1 - distance(x, y) / longer;
}

/** The trigrams of each word of a comparable name, padded as PostgreSQL's pg_trgm pads them: word order does not change them. */
function trigramsOf(name: string): Set<string> {
  const grams = new Set<string>();
  for (const word of name.split(' ')) {
    if (!word) continue;
    const padded = `  ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) grams.add(padded.slice(i, i + 3));
  }
  return grams;
}

/** Products compared in full with a name: those sharing the most trigrams with it. */
const CANDIDATES_SCORED = 50;

/**
 * Matches names from a file against a business's catalog: case-insensitive exact name first, then the
 * business's aliases (compared as `comparableName`), then the most similar product at or above the
 * threshold. Distinct names are matched once, however many rows. A trigram index (pg_trgm's trigrams,
 * kept in memory since the preview and the commit hold the catalog anyway) picks the products worth
 * comparing, so a name costs what the products sharing its telling trigrams cost, not the whole catalog:
 * about 1.5 ms a name that is not in it against 20,000 products, where comparing with each took 240 ms.
 */
export class ProductMatcher {
  private readonly exact = new Map<string, CatalogProduct>();
  private readonly aliases = new Map<string, { product: CatalogProduct; alias: string }>();
  private readonly comparable: string[];
  private readonly gramCounts: number[];
  private readonly postings = new Map<string, number[]>();
  /** Trigrams shared with the name being matched, per catalog product: zero between names. */
  private readonly shared: Uint16Array;
  private readonly cache = new Map<string, ProductMatch>();

  constructor(
    private readonly catalog: CatalogProduct[],
    private readonly threshold: number,
    aliases: CatalogAlias[] = [],
  ) {
    for (const product of catalog) this.exact.set(product.name.trim().toLowerCase(), product);
    const byId = new Map(catalog.map((product) => [product.id, product]));
    for (const { alias, productId } of aliases) {
      const product = byId.get(productId);
      if (product) this.aliases.set(comparableName(alias), { product, alias });
    }
    this.comparable = catalog.map((product) => comparableName(product.name));
    this.shared = new Uint16Array(catalog.length);
    this.gramCounts = this.comparable.map((name, index) => {
      const grams = trigramsOf(name);
      for (const gram of grams) {
        const list = this.postings.get(gram);
        if (list) list.push(index);
        else this.postings.set(gram, [index]);
      }
      return grams.size;
    });
  }

  match(name: string): ProductMatch {
    const key = name.trim().toLowerCase();
    const cached = this.cache.get(key);
    if (cached) return cached;
    const result = this.compute(name, key);
    this.cache.set(key, result);
    return result;
  }

  /**
   * Products of the catalog for a person searching it by name: those whose name holds every word typed
   * (the start of a word is enough), the most similar first, then the most similar others.
   */
  search(query: string, limit: number): MatchCandidate[] {
    const typed = comparableName(query);
    if (!typed) return [];
    const words = typed.split(' ');
    const containing: number[] = [];
    this.comparable.forEach((name, index) => {
      const nameWords = name.split(' ');
      if (words.every((word) => nameWords.some((nameWord) => nameWord.startsWith(word)))) containing.push(index);
    });
    const ranked = this.rank(typed, containing).slice(0, limit);
    if (ranked.length < limit) {
      const found = new Set(ranked.map((candidate) => candidate.product_id));
      ranked.push(...this.rank(typed, this.similarIndexes(typed)).filter((candidate) => !found.has(candidate.product_id) && candidate.score > 0).slice(0, limit - ranked.length));
    }
    return ranked;
  }

  private compute(name: string, key: string): ProductMatch {
    const exact = this.exact.get(key);
    if (exact) return { status: 'exact', product_id: exact.id, product_name: exact.name, score: 1 };
    const comparable = comparableName(name);
    const aliased = this.aliases.get(comparable);
    if (aliased) return { status: 'alias', product_id: aliased.product.id, product_name: aliased.product.name, score: 1, alias: aliased.alias };
    const scored = this.rank(comparable, this.similarIndexes(comparable)).slice(0, 3);
    const best = scored[0];
    if (best && best.score >= this.threshold) return { status: 'fuzzy', product_id: best.product_id, product_name: best.product_name, score: best.score, candidates: scored };
    return { status: 'missing', candidates: scored.filter((c) => c.score > 0) };
  }

  /**
   * The catalog products sharing the most trigrams with a comparable name (by Dice's coefficient), at most
   * CANDIDATES_SCORED. Trigrams that most of a large catalog has ("cro" in a bakery's) are counted only when
   * the name has no others: they tell no product apart, and counting them cost a pass over the catalog.
   */
  private similarIndexes(comparable: string): number[] {
    const grams = [...trigramsOf(comparable)].map((gram) => this.postings.get(gram) ?? []);
    const common = Math.max(1000, this.catalog.length / 10);
    const telling = grams.filter((list) => list.length <= common);
    const lists = telling.length > 0 ? telling : grams;
    const touched: number[] = [];
    for (const list of lists) {
      for (const index of list) {
        if (this.shared[index] === 0) touched.push(index);
        this.shared[index]!++;
      }
    }
    const dice = new Map(touched.map((index) => [index, (2 * this.shared[index]!) / (lists.length + this.gramCounts[index]!)]));
    for (const index of touched) this.shared[index] = 0;
    // The products sharing the most trigrams, by count (small integers), then the best of those by Dice.
    const byCount: number[][] = [];
    for (const [index] of dice) (byCount[Math.round(dice.get(index)! * 1000)] ??= []).push(index);
    const chosen: number[] = [];
    for (let bucket = byCount.length - 1; bucket >= 0 && chosen.length < CANDIDATES_SCORED; bucket--) {
      for (const index of byCount[bucket] ?? []) {
        if (chosen.length === CANDIDATES_SCORED) break;
        chosen.push(index);
      }
    }
    return chosen;
  }

  /** Products by similarity to a comparable name, the most similar first (by name on a tie). */
  private rank(comparable: string, indexes: number[]): MatchCandidate[] {
    return indexes
      .map((index) => ({ product_id: this.catalog[index]!.id, product_name: this.catalog[index]!.name, score: similarityOfComparable(comparable, this.comparable[index]!) }))
      .sort((a, b) => b.score - a.score || a.product_name.localeCompare(b.product_name));
  }
}
