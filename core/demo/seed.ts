import path from 'node:path';
import { Readable } from 'node:stream';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import { generatePassword } from '../auth/passwords.js';
import { createRecord } from '../records/service.js';
import { writeAudit } from '../auth/audit.js';
import { commitFeed } from '../feeds/commit.js';
import type { FeedSettings } from '../feeds/settings.js';
import { storeUpload } from '../feeds/uploads.js';
import type { JobQueue } from '../queue.js';
import { todayIn } from '../warehouse/ranges.js';
import { startFolderRun } from '../pipelines/runs.js';
import { writeSampleDay } from '../pipelines/samples.js';
import { requestExecution } from '../mapping/execute.js';
import { approveMapping, proposeMapping, saveMapping } from '../mapping/mappings.js';
import { deterministicProposer } from '../mapping/propose.js';
import { createDataSource, type SourceSettings } from '../mapping/sources.js';

/** Fixed id so that seeding can tell, on every start, whether the demo business is already there. */
export const DEMO_BUSINESS_ID = '0b5e0000-0000-4000-8000-000000000001';
const DEMO_MANAGER_EMAIL = 'manager@demo.backhouse.local';

export interface CreatedLogin {
  email: string;
  role: string;
  /** Present only when the password was generated here: it is shown once and never stored in clear. */
  generatedPassword?: string;
}

/** When nobody can sign in yet, creates the first admin from ADMIN_EMAIL/ADMIN_PASSWORD or a generated password. */
export async function ensureFirstAdmin(ctx: Context, config: Pick<Config, 'ADMIN_EMAIL' | 'ADMIN_PASSWORD'>): Promise<CreatedLogin | null> {
  if ((await ctx.db.prisma.user.count()) > 0) return null;
  const email = config.ADMIN_EMAIL ?? 'admin@backhouse.local';
  const password = config.ADMIN_PASSWORD ?? generatePassword();
  await createRecord(ctx, 'users', { email, name: 'Administrator', role: 'admin', password });
  return { email, role: 'admin', generatedPassword: config.ADMIN_PASSWORD ? undefined : password };
}

const demoShops = [
  { name: 'Harbour Street', code: 'HS' },
  { name: 'Market Square', code: 'MS' },
];

const demoProducts: [name: string, category: string, unit: string, sellingPriceCents: number, costPriceCents: number][] = [
  ['Sourdough Loaf', 'Bread', 'loaf', 650, 180],
  ['Rye Loaf', 'Bread', 'loaf', 590, 170],
  ['Baguette', 'Bread', 'each', 320, 80],
  ['Butter Croissant', 'Pastry', 'each', 295, 95],
  ['Pain au Chocolat', 'Pastry', 'each', 335, 115],
  ['Cinnamon Bun', 'Pastry', 'each', 375, 110],
  ['Almond Croissant', 'Pastry', 'each', 425, 160],
  ['Flat White', 'Coffee', 'cup', 380, 70],
  ['Cappuccino', 'Coffee', 'cup', 370, 70],
  ['Filter Coffee', 'Coffee', 'cup', 290, 40],
  ['Carrot Cake Slice', 'Cake', 'slice', 450, 140],
  ['Lemon Tart', 'Cake', 'each', 495, 175],
];

/**
 * A demo business (two shops, a dozen products) with an ops and a manager user, so a newcomer sees
 * real screens at once. Idempotent: does nothing when the demo business exists.
 */
export async function seedDemoBusiness(ctx: Context): Promise<CreatedLogin[]> {
  if (await ctx.db.prisma.business.findUnique({ where: { id: DEMO_BUSINESS_ID } })) return [];
  // Created directly (not through createRecord) because the id is fixed; audited like any write.
  const business = await ctx.db.prisma.business.create({
    data: { id: DEMO_BUSINESS_ID, name: 'Harbour Bakery (demo)', timezone: 'Europe/London', currency: 'GBP' },
  });
  await writeAudit(ctx, { resource: 'businesses', recordId: business.id, action: 'create', businessId: business.id, after: business });
  const shops = [];
  for (const shop of demoShops) shops.push(await createRecord(ctx, 'shops', { ...shop, businessId: business.id }));
  for (const [name, category, unit, sellingPriceCents, costPriceCents] of demoProducts) {
    await createRecord(ctx, 'products', { businessId: business.id, name, category, unit, sellingPriceCents, costPriceCents });
  }
  const logins: CreatedLogin[] = [];
  const demoUsers = [
    { email: 'ops@demo.backhouse.local', name: 'Olive Ops', role: 'ops' as const, shopIds: [] as string[] },
    { email: DEMO_MANAGER_EMAIL, name: 'Max Manager', role: 'manager' as const, shopIds: [shops[0]!.id as string] },
  ];
  for (const user of demoUsers) {
    if (await ctx.db.prisma.user.findUnique({ where: { email: user.email } })) continue;
    const password = generatePassword();
    await createRecord(ctx, 'users', { ...user, businessId: business.id, password });
    logins.push({ email: user.email, role: user.role, generatedPassword: password });
  }
  return logins;
}

/**
 * Ninety days of the demo bakery's sales, ending yesterday in its time zone, loaded through the real
 * pipeline (upload, commit, the ETL job), so the Metrics page has something to show on first start.
 * Deterministic: the same quantities every time. Does nothing when the demo business already has feeds.
 */
export async function seedDemoSales(ctx: Context, queue: JobQueue, settings: FeedSettings): Promise<number | null> {
  const business = await ctx.db.prisma.business.findUnique({ where: { id: DEMO_BUSINESS_ID } });
  if (!business || (await ctx.db.prisma.dataFeed.count({ where: { businessId: DEMO_BUSINESS_ID } })) > 0) return null;
  const today = todayIn(business.timezone);
  const lines = ['transaction_date,product_name,quantity,price,discount,channel,customer,order_id'];
  let order = 1000;
  for (let daysAgo = 90; daysAgo >= 1; daysAgo--) {
    const date = new Date(`${today}T00:00:00Z`);
    date.setUTCDate(date.getUTCDate() - daysAgo);
    const day = date.toISOString().slice(0, 10);
    const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
    demoProducts.forEach(([name, , , sellingPriceCents], index) => {
      // A steady pattern with a weekly rhythm and a slow upward trend.
      const quantity = 2 + ((index * 7 + daysAgo * 3) % 9) + (weekend ? 4 : 0) + Math.floor((90 - daysAgo) / 30);
      const channel = (index + daysAgo) % 4 === 0 ? 'Online' : 'Offline';
      const customer = `guest${(index * 13 + daysAgo * 5) % 40}@demo.example`;
      lines.push(`${day},${name},${quantity},${(sellingPriceCents / 100).toFixed(2)},${(index + daysAgo) % 11 === 0 ? '0.50' : '0'},${channel},${customer},D-${order++}`);
    });
  }
  const stored = await storeUpload(ctx, { businessId: DEMO_BUSINESS_ID, dataType: 'sales', filename: 'demo-sales-last-90-days.csv', stream: Readable.from([Buffer.from(lines.join('\n'))]) }, { maxBytes: settings.maxUploadBytes, ttlSeconds: settings.uploadTtlSeconds });
  const result = await commitFeed(ctx, queue, settings, { uploadToken: stored.token, autoCreateProducts: false, skipInvalidRows: false });
  return result.feed_id;
}

const demoCustomerNames = ['Anchor Café', 'Bayview Hotel', 'Castle Deli', 'Dockside Offices', 'Elm Street School', 'Ferry Terminal Kiosk', 'Gull & Crown', 'Harbourmaster Lodge', 'Isla Florist', 'Jetty Gym', 'Kelp Kitchen', 'Lighthouse B&B'];

/** The day `daysAgo` days before `today` (ISO dates). */
function dayBefore(today: string, daysAgo: number): Date {
  const date = new Date(`${today}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - daysAgo);
  return date;
}

/**
 * The demo bakery's wholesale side as exports from its order system would have it: customers, a year of
 * orders from the first day of the month a year ago (half of them the demo manager's, by email in a "Sales rep" column) and their invoices.
 * Deterministic: the same rows every time.
 */
export function demoCanonicalFiles(today: string): { table: string; filename: string; csv: string }[] {
  const customers = ['Customer ID,Customer Name,Email,City'];
  demoCustomerNames.forEach((name, i) => customers.push(`C${String(i + 1).padStart(3, '0')},${name},orders${i + 1}@demo.example,Harbourtown`));
  const orders = ['Order ID,Customer ID,Order Date,Status,Total,Currency,Sales Rep'];
  const invoices = ['Invoice Number,Customer ID,Invoice Date,Due Date,Amount,Paid'];
  let number = 5000;
  // From the first day of the month a year ago, so that every month but this one is whole.
  const first = new Date(`${today.slice(0, 4)}-${today.slice(5, 7)}-01T00:00:00Z`);
  first.setUTCFullYear(first.getUTCFullYear() - 1);
  const span = Math.round((Date.parse(`${today}T00:00:00Z`) - first.getTime()) / 86_400_000);
  for (let daysAgo = span; daysAgo >= 1; daysAgo--) {
    const date = dayBefore(today, daysAgo);
    if (date.getUTCDay() === 0) continue;
    const day = date.toISOString().slice(0, 10);
    // Two or three orders a weekday; customers come back, and the number of customers grows through the year.
    const count = 2 + ((daysAgo * 7) % 3 === 0 ? 1 : 0);
    for (let k = 0; k < count; k++) {
      number++;
      const customer = (daysAgo * 5 + k * 3) % Math.min(demoCustomerNames.length, 4 + Math.floor((span - daysAgo) / 40));
      const total = (40 + ((daysAgo * 13 + k * 29) % 160) + ((daysAgo + k) % 4) * 0.25).toFixed(2);
      const status = number % 29 === 0 ? 'cancelled' : daysAgo < 3 ? 'pending' : 'paid';
      const rep = number % 2 === 0 ? DEMO_MANAGER_EMAIL : '';
      const ref = `C${String(customer + 1).padStart(3, '0')}`;
      orders.push(`SO-${number},${ref},${day},${status},${total},GBP,${rep}`);
      if (status !== 'cancelled') {
        const due = dayBefore(today, daysAgo - 30).toISOString().slice(0, 10);
        invoices.push(`INV-${number},${ref},${day},${due},${total},${daysAgo > 45 || number % 3 === 0 ? 'yes' : 'no'}`);
      }
    }
  }
  return [
    { table: 'customers', filename: 'demo-customers.csv', csv: customers.join('\n') },
    { table: 'orders', filename: 'demo-orders.csv', csv: orders.join('\n') },
    { table: 'invoices', filename: 'demo-invoices.csv', csv: invoices.join('\n') },
  ];
}

/**
 * The demo's canonical data (customers, orders, invoices), so the "Orders & customers" dashboard has
 * something to show on first start. Loaded through the real mapping pipeline: each export becomes a data
 * source, its columns are mapped by the offline proposer, the mapping is saved and approved, and an
 * execution job loads it (the views are refreshed after it, as after any load). Does nothing when the demo
 * business already has data sources. Answers the executions' ids.
 */
export async function seedDemoCanonical(ctx: Context, queue: JobQueue, settings: SourceSettings): Promise<string[] | null> {
  const business = await ctx.db.prisma.business.findUnique({ where: { id: DEMO_BUSINESS_ID } });
  if (!business || (await ctx.db.prisma.dataSource.count({ where: { businessId: DEMO_BUSINESS_ID } })) > 0) return null;
  const executions: string[] = [];
  for (const file of demoCanonicalFiles(todayIn(business.timezone))) {
    const source = await createDataSource(ctx, settings, { businessId: DEMO_BUSINESS_ID, filename: file.filename, stream: Readable.from([Buffer.from(file.csv)]) });
    const proposal = await proposeMapping(ctx, deterministicProposer, { dataSourceId: source.id, tableHint: file.table });
    const version = await saveMapping(ctx, { dataSourceId: source.id, table: file.table, columns: proposal.mapping });
    await approveMapping(ctx, version.id);
    executions.push((await requestExecution(ctx, queue, { dataSourceId: source.id })).execution_id);
  }
  return executions;
}

/**
 * A day of the demo shops' stock files (an inventory workbook per shop, the supplier master, the PO export)
 * written to `<dataDir>/demo/<today>/` and processed through the real pipelines (runs, file jobs, the
 * aggregator), so the stock screens show something on first start. Does nothing once the demo business has
 * pipeline runs. Stock health waits for the master and POs of the day (see stockHealthReference).
 */
export async function seedDemoStock(ctx: Context, queue: JobQueue, dataDir: string): Promise<string[] | null> {
  const business = await ctx.db.prisma.business.findUnique({ where: { id: DEMO_BUSINESS_ID } });
  if (!business || (await ctx.db.pool.query(`SELECT 1 FROM pipeline_runs WHERE business_id = $1 LIMIT 1`, [DEMO_BUSINESS_ID])).rowCount) return null;
  const today = todayIn(business.timezone);
  const root = path.join(dataDir, 'demo', today);
  const day = await writeSampleDay(root, { businessDate: today, storeCount: demoShops.length, skuCount: 200, storeCodes: demoShops.map((shop) => shop.code) });
  ctx.log.info({ folder: root, rows: day.rows }, 'demo stock files written');
  // Each pipeline's run takes the files of the folder it claims (by their columns).
  const runs: string[] = [];
  for (const pipelineName of ['supplier_master', 'po_snapshot', 'stock_health']) {
    runs.push((await startFolderRun(ctx, queue, { pipelineName, businessId: DEMO_BUSINESS_ID, date: today, inputDir: root, trigger: 'cli' })).run.id);
  }
  return runs;
}

