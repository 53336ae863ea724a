/**
 * bench:ingest-linking: how product linking (core/ingest/linking.ts over the feeds' matcher) scales with the
 * catalog. Builds catalogs of 1,000 / 10,000 / 50,000 products, then links 2,000 distinct store products
 * (a third exact names, a third misspelt, a third unknown) and prints ms per store product, beside the floor:
 * a plain Map lookup of the same names.
 */
import { ProductMatcher } from '../core/feeds/matching.js';
import { decideLink } from '../core/ingest/linking.js';

const words = ['butter', 'croissant', 'sourdough', 'loaf', 'flat', 'white', 'espresso', 'almond', 'rye', 'bagel', 'oat', 'latte', 'cinnamon', 'roll', 'baguette', 'brioche', 'muffin', 'scone', 'tea', 'chai'];
const nameOf = (n: number) => `${words[n % 20]} ${words[Math.floor(n / 20) % 20]} ${words[Math.floor(n / 400) % 20]} ${n}`;

for (const size of [1_000, 10_000, 50_000]) {
  const catalog = Array.from({ length: size }, (_, n) => ({ id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, name: nameOf(n) }));
  const built = performance.now();
  const matcher = new ProductMatcher(catalog, 0.85);
  const buildMs = performance.now() - built;
  const names = Array.from({ length: 2000 }, (_, i) => {
    const n = (i * 7919) % size;
    return i % 3 === 0 ? nameOf(n) : i % 3 === 1 ? nameOf(n).replace('a', 'e').replace('o', '') : `unknown thing ${i}`;
  });
  const ids = new Set(catalog.map((p) => p.id));
  const started = performance.now();
  let linked = 0;
  for (const name of names) if (decideLink(matcher, ids, { business_id: 'b', shop_id: 's', source_product_id: '', product_name: name }, 0.85).status === 'auto') linked++;
  const ms = performance.now() - started;
  const exact = new Map(catalog.map((p) => [p.name.toLowerCase(), p]));
  const floorStarted = performance.now();
  for (const name of names) exact.get(name.toLowerCase());
  const floorMs = performance.now() - floorStarted;
  console.log(`${String(size).padStart(6)} products: index built in ${buildMs.toFixed(0)} ms; ${(ms / names.length).toFixed(3)} ms per store product (${linked}/${names.length} linked at once); floor (Map lookup) ${(floorMs / names.length).toFixed(4)} ms`);
}
