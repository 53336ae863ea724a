import type { TransactionPayload } from './payload.js';
import { seededRandom } from '../random.js';

/**
 * The simulator's model of point-of-sale traffic (the seed's "realistic transaction simulator"): stores in
 * regions with their own rhythm, rushes in the morning, at lunch and in the evening, four customer segments
 * with their basket sizes and price preferences, and products chosen by category weight. Pure and seeded:
 * the same seed gives the same traffic (tests and demo history rely on it).
 */

export type Category = 'beverages' | 'snacks' | 'dairy' | 'bakery' | 'produce' | 'frozen' | 'household' | 'personal care';
export type Segment = 'premium' | 'budget' | 'family' | 'student';
export type Region = 'metro' | 'suburban' | 'campus' | 'rural';

export interface CatalogProduct {
  id: string;
  name: string;
  brand: string;
  category: Category;
  priceCents: number;
}

const catalogSpec: Record<Category, [string, string, number][]> = {
  beverages: [['Coca-Cola 350ml', 'Coca-Cola', 125], ['Coca-Cola Zero 350ml', 'Coca-Cola', 125], ['Sprite 500ml', 'Coca-Cola', 160], ['Still Water 1.5L', 'Highland Spring', 95], ['Sparkling Water 750ml', 'San Pellegrino', 210], ['Orange Juice 1L', 'Tropicana', 325], ['Cold Brew Coffee 250ml', 'Starbucks', 295], ['Energy Drink 250ml', 'Red Bull', 175], ['Green Tea 500ml', 'Pure Leaf', 199], ['Craft IPA 330ml', 'BrewDog', 280]],
  snacks: [['Sea Salt Crisps 150g', 'Kettle', 249], ['Cheese Puffs 80g', 'Wotsits', 115], ['Milk Chocolate Bar 100g', 'Cadbury', 150], ['Dark Chocolate 85% 100g', 'Lindt', 299], ['Salted Peanuts 200g', 'KP', 189], ['Granola Bar 6-pack', 'Nature Valley', 275], ['Pretzels 175g', 'Snyder\'s', 229], ['Popcorn Sweet & Salty 90g', 'Propercorn', 199]],
  dairy: [['Semi-Skimmed Milk 2L', 'Arla', 165], ['Greek Yogurt 500g', 'Fage', 349], ['Mature Cheddar 400g', 'Cathedral City', 450], ['Salted Butter 250g', 'Lurpak', 325], ['Free Range Eggs 12', 'Happy Egg', 399], ['Oat Milk 1L', 'Oatly', 210]],
  bakery: [['Sourdough Loaf', 'Bakery', 350], ['White Sliced Bread 800g', 'Warburtons', 145], ['Butter Croissant 4-pack', 'Bakery', 225], ['Bagels 5-pack', 'New York Bakery', 199], ['Blueberry Muffin', 'Bakery', 150]],
  produce: [['Bananas 5-pack', 'Fresh', 99], ['Avocados 2-pack', 'Fresh', 250], ['Gala Apples 6-pack', 'Fresh', 199], ['Baby Spinach 200g', 'Fresh', 150], ['Cherry Tomatoes 250g', 'Fresh', 135], ['Blueberries 150g', 'Fresh', 275]],
  frozen: [['Margherita Pizza 400g', 'Goodfella\'s', 299], ['Garden Peas 1kg', 'Birds Eye', 210], ['Vanilla Ice Cream 500ml', 'Ben & Jerry\'s', 550], ['Fish Fingers 10-pack', 'Birds Eye', 300]],
  household: [['Washing Up Liquid 500ml', 'Fairy', 175], ['Kitchen Roll 2-pack', 'Plenty', 325], ['Laundry Capsules 30', 'Persil', 899], ['Bin Bags 20', 'Glad', 275]],
  'personal care': [['Toothpaste 75ml', 'Colgate', 199], ['Shampoo 400ml', 'Head & Shoulders', 450], ['Shower Gel 250ml', 'Dove', 225], ['Deodorant 150ml', 'Sure', 299]],
};

/** The products the simulator sells; demo mode and the simulator create them in the business's catalog. */
export const simulatorCatalog: CatalogProduct[] = Object.entries(catalogSpec).flatMap(([category, products]) =>
  products.map(([name, brand, priceCents], index) => ({
    id: `SIM-${category.slice(0, 3).toUpperCase()}-${String(index + 1).padStart(3, '0')}`,
    name,
    brand,
    category: category as Category,
    priceCents,
  })),
);

interface SegmentProfile {
  /** Items in a basket: from, to (inclusive). */
  basket: [number, number];
  /** Weight of a product ∝ price^pricePreference: > 0 likes dear products, < 0 cheap ones. */
  pricePreference: number;
  /** Chance that a line is more than one unit. */
  multiBuy: number;
  categories: Record<Category, number>;
}

const segments: Record<Segment, SegmentProfile> = {
  premium: { basket: [2, 6], pricePreference: 1.2, multiBuy: 0.15, categories: { beverages: 3, snacks: 2, dairy: 3, bakery: 3, produce: 4, frozen: 1, household: 1, 'personal care': 2 } },
  budget: { basket: [2, 5], pricePreference: -1.5, multiBuy: 0.3, categories: { beverages: 3, snacks: 3, dairy: 3, bakery: 3, produce: 2, frozen: 3, household: 2, 'personal care': 1 } },
  family: { basket: [5, 12], pricePreference: -0.3, multiBuy: 0.5, categories: { beverages: 3, snacks: 3, dairy: 4, bakery: 3, produce: 4, frozen: 3, household: 2, 'personal care': 2 } },
  student: { basket: [1, 3], pricePreference: -1, multiBuy: 0.1, categories: { beverages: 6, snacks: 6, dairy: 1, bakery: 2, produce: 1, frozen: 2, household: 0.3, 'personal care': 0.5 } },
};

interface RegionProfile {
  /** Relative volume of a store there. */
  activity: number;
  /** Weight of each rush: morning (7–9), lunch (12–13), evening (17–19). */
  rushes: [number, number, number];
  segmentMix: Record<Segment, number>;
}

const regions: Record<Region, RegionProfile> = {
  metro: { activity: 1.5, rushes: [1.6, 2.2, 1.2], segmentMix: { premium: 4, budget: 2, family: 1, student: 2 } },
  suburban: { activity: 1, rushes: [0.8, 0.9, 2], segmentMix: { premium: 2, budget: 3, family: 5, student: 1 } },
  campus: { activity: 0.9, rushes: [1.2, 1.8, 1.5], segmentMix: { premium: 1, budget: 3, family: 0.5, student: 6 } },
  rural: { activity: 0.5, rushes: [1.4, 0.8, 1.1], segmentMix: { premium: 1, budget: 5, family: 4, student: 0.5 } },
};
const regionOrder: Region[] = ['metro', 'suburban', 'campus', 'rural'];

export interface SimulatedStore {
  code: string;
  region: Region;
  /** Relative volume of this store (its region's, give or take its size). */
  weight: number;
}


/** The simulator's stores: SIM-001 … in the four regions in turn. */
export function simulatorStores(count: number, random = seededRandom(7)): SimulatedStore[] {
  return Array.from({ length: count }, (_, index) => {
    const region = regionOrder[index % regionOrder.length]!;
    return { code: `SIM-${String(index + 1).padStart(3, '0')}`, region, weight: regions[region].activity * (0.7 + 0.6 * random()) };
  });
}

/** How busy a store of `region` is at `hour` (local, fractional), relative to a quiet daytime hour (1). */
export function hourWeight(region: Region, hour: number): number {
  if (hour < 6 || hour >= 23) return 0.05;
  const [morning, lunch, evening] = regions[region].rushes;
  const bump = (centre: number, width: number, height: number) => height * Math.exp(-(((hour - centre) / width) ** 2));
  return 0.6 + bump(8, 1, morning) + bump(12.5, 0.8, lunch) + bump(18, 1.2, evening);
}

/** The mean of hourWeight over a day (to turn an average rate into the rate of an hour). */
export function meanHourWeight(region: Region): number {
  let sum = 0;
  for (let minute = 0; minute < 24 * 60; minute += 10) sum += hourWeight(region, minute / 60);
  return sum / (24 * 6);
}

function pickWeighted<T>(random: () => number, items: readonly T[], weightOf: (item: T) => number): T {
  const total = items.reduce((sum, item) => sum + weightOf(item), 0);
  let point = random() * total;
  for (const item of items) {
    point -= weightOf(item);
    if (point < 0) return item;
  }
  return items[items.length - 1]!;
}

export interface TrafficOptions {
  stores: SimulatedStore[];
  seed?: number;
  /** Hours the stores' local time is ahead of UTC (the business's zone, roughly). */
  utcOffsetHours?: number;
  /** Mark transactions as simulated (they are, unless a test wants otherwise). */
  simulated?: boolean;
}

/** A stream of realistic transactions. */
export class TrafficModel {
  private readonly random: () => number;
  private sequence = 0;
  private readonly runId: string;

  constructor(private readonly options: TrafficOptions) {
    this.random = seededRandom(options.seed ?? Date.now());
    this.runId = Math.floor(this.random() * 36 ** 6).toString(36).padStart(6, '0');
  }

  get stores(): SimulatedStore[] {
    return this.options.stores;
  }

  localHour(at: Date): number {
    const hours = at.getUTCHours() + at.getUTCMinutes() / 60 + (this.options.utcOffsetHours ?? 0);
    return ((hours % 24) + 24) % 24;
  }

  /** Transactions per second across all stores at `at`, for an average (over a day) of `averagePerSecond`. */
  rateAt(at: Date, averagePerSecond: number): number {
    const hour = this.localHour(at);
    const total = this.stores.reduce((sum, store) => sum + store.weight, 0);
    return this.stores.reduce((rate, store) => rate + (averagePerSecond * store.weight * hourWeight(store.region, hour)) / meanHourWeight(store.region) / total, 0);
  }

  /** One transaction at `at`, in a store chosen by its weight at that hour. */
  transactionAt(at: Date): TransactionPayload {
    const hour = this.localHour(at);
    const store = pickWeighted(this.random, this.stores, (candidate) => candidate.weight * hourWeight(candidate.region, hour));
    const segment = pickWeighted(this.random, Object.keys(segments) as Segment[], (name) => regions[store.region].segmentMix[name]);
    const profile = segments[segment];
    const [least, most] = profile.basket;
    const lines = least + Math.floor(this.random() * (most - least + 1));
    const chosen = new Map<string, { product: CatalogProduct; qty: number }>();
    for (let line = 0; line < lines; line += 1) {
      const category = pickWeighted(this.random, Object.keys(profile.categories) as Category[], (name) => profile.categories[name]);
      const product = pickWeighted(
        this.random,
        simulatorCatalog.filter((candidate) => candidate.category === category),
        (candidate) => (candidate.priceCents / 200) ** profile.pricePreference,
      );
      const qty = this.random() < profile.multiBuy ? 2 + Math.floor(this.random() * 3) : 1;
      const existing = chosen.get(product.id);
      if (existing) existing.qty += qty;
      else chosen.set(product.id, { product, qty });
    }
    // Amounts in integer cents, sent as the currency's decimal amounts (the seed's payload), so that lines sum exactly.
    const items = [...chosen.values()].map(({ product, qty }) => ({
      product_id: product.id,
      // A few tills print shortened names: product linking matches them fuzzily.
      product_name: this.random() < 0.03 ? product.name.replace(/ \d.*$/, '').toUpperCase() : product.name,
      brand: product.brand,
      qty,
      unit_price: product.priceCents / 100,
      line_amount: (product.priceCents * qty) / 100,
    }));
    const totalCents = [...chosen.values()].reduce((sum, { product, qty }) => sum + product.priceCents * qty, 0);
    this.sequence += 1;
    return {
      transaction_id: `SIM-${this.runId}-${store.code}-${this.sequence}`,
      store_id: store.code,
      ts: at.toISOString(),
      total_amount: totalCents / 100,
      items,
      ...(this.options.simulated === false ? {} : { simulated: true }),
    };
  }

  /** Transactions spread over [from, to) following the day's rhythm, `averagePerSecond` on average (demo history). */
  *between(from: Date, to: Date, averagePerSecond: number): Generator<TransactionPayload> {
    const stepMs = 60_000;
    for (let minute = from.getTime(); minute < to.getTime(); minute += stepMs) {
      const expected = (this.rateAt(new Date(minute), averagePerSecond) * stepMs) / 1000;
      let count = Math.floor(expected) + (this.random() < expected % 1 ? 1 : 0);
      while (count-- > 0) yield this.transactionAt(new Date(minute + Math.floor(this.random() * stepMs)));
    }
  }

  /** A number in [0, 1) from the model's seeded stream (for the sender's duplicates and late events). */
  chance(): number {
    return this.random();
  }
}
