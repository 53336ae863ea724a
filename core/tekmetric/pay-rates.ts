import type pg from 'pg';
import { z } from 'zod';
import { writeAudit } from '../auth/audit.js';
import { assertCan } from '../auth/permissions.js';
import { scopeIncludes } from '../auth/scope.js';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError, notFound } from '../errors.js';
import { markSourceChanged } from '../warehouse/views.js';
import { POSTED_STATUS_IDS, recomputeShopDays } from './metrics.js';

/**
 * Pay rates, which Tekmetric's API does not give: a technician's own (the `assigned` rate source) and the
 * shop's default (used when no technician of the shop has a rate). A rate is not dated: it is the rate of
 * every day, so an edit recomputes, in its own transaction, the technician metrics and gross profit of every
 * past day whose labor cost it changes (a later recomputation of any day would use it anyway). Snapshots keep
 * the figures of when they were taken. Admins and ops of the shop's business; audited.
 */

/** A rate per hour in cents, or null to take a technician's rate away (the shop's average then applies). */
export const payRateCents = z.number({ message: 'The pay rate must be a number of cents' }).int('The pay rate must be whole cents').min(0, 'The pay rate cannot be negative').max(100_000_00, 'The pay rate may be at most 100,000.00 an hour');

export interface PayRateChange {
  before: number | null;
  after: number | null;
  /** The shop-local days whose metrics were recomputed. */
  recomputedDays: string[];
}

async function shopInScope(ctx: Context, client: pg.ClientBase, shopId: number): Promise<{ businessId: string; defaultRate: number }> {
  const { rows } = await client.query<{ business_id: string; backhouse_shop_id: string; default_pay_rate_cents: string }>(
    'SELECT business_id, backhouse_shop_id, default_pay_rate_cents FROM tm_shops WHERE id = $1 FOR UPDATE',
    [shopId],
  );
  const shop = rows[0];
  // Out of scope reads as absent: nothing is learnt of other businesses' shops.
  if (!shop || !scopeIncludes(ctx.scope, shop.business_id, shop.backhouse_shop_id)) throw notFound(`Tekmetric shop ${shopId}`);
  return { businessId: shop.business_id, defaultRate: Number(shop.default_pay_rate_cents) };
}

/**
 * The posted days of a shop with a job whose labor cost follows the edited rate: the technician's own jobs,
 * and every job whose technician has no rate of their own (or no technician), which take the shop's average
 * or its default. Read after the edit.
 */
async function daysPricedBy(client: pg.ClientBase, shopId: number, technicianId: number | null): Promise<string[]> {
  const { rows } = await client.query<{ day: string }>(
    `SELECT DISTINCT ro.posted_date::text AS day
       FROM tm_repair_orders ro
       JOIN tm_jobs j ON j.shop_id = ro.shop_id AND j.repair_order_id = ro.id
       LEFT JOIN tm_employees e ON e.shop_id = ro.shop_id AND e.id = coalesce(j.technician_id, ro.technician_id)
      WHERE ro.shop_id = $1 AND ro.posted_date IS NOT NULL AND ro.status_id = ANY ($3::int[]) AND ro.deleted_at IS NULL
        AND (coalesce(j.technician_id, ro.technician_id) = $2 OR e.pay_rate_cents IS NULL)
      ORDER BY 1`,
    [shopId, technicianId, POSTED_STATUS_IDS],
  );
  return rows.map((row) => row.day);
}

async function recompute(client: pg.ClientBase, shopId: number, days: string[]): Promise<void> {
  await recomputeShopDays(client, shopId, days);
  for (const source of ['tm_daily_shop_metrics', 'tm_tech_daily_metrics']) await markSourceChanged((text, params) => client.query(text, params), source);
}

/** Sets (or with null, removes) a technician's pay rate and recomputes the past days it prices. */
export async function setTechnicianPayRate(ctx: Context, shopId: number, employeeId: number, rate: number | null): Promise<PayRateChange> {
  assertCan(ctx.user, 'tekmetric', 'edit');
  const parsed = payRateCents.nullable().safeParse(rate);
  if (!parsed.success) throw new AppError('bad_request', parsed.error.issues.map((i) => i.message).join('; '));
  return withTransaction(ctx.db.pool, async (client) => {
    const shop = await shopInScope(ctx, client, shopId);
    const { rows } = await client.query<{ pay_rate_cents: string | null }>('SELECT pay_rate_cents FROM tm_employees WHERE shop_id = $1 AND id = $2 FOR UPDATE', [shopId, employeeId]);
    if (!rows[0]) throw notFound(`Employee ${employeeId} of Tekmetric shop ${shopId}`);
    const before = rows[0].pay_rate_cents === null ? null : Number(rows[0].pay_rate_cents);
    if (before === parsed.data) return { before, after: before, recomputedDays: [] };
    await client.query('UPDATE tm_employees SET pay_rate_cents = $3 WHERE shop_id = $1 AND id = $2', [shopId, employeeId, parsed.data]);
    const days = await daysPricedBy(client, shopId, employeeId);
    await recompute(client, shopId, days);
    await writeAudit(ctx, { resource: 'tm_employees', recordId: `${shopId}:${employeeId}`, action: 'update', businessId: shop.businessId, before: { payRateCents: before }, after: { payRateCents: parsed.data, recomputedDays: days.length } }, client);
    return { before, after: parsed.data, recomputedDays: days };
  });
}

/** Sets a shop's default pay rate and recomputes the past days of jobs whose technician has no rate of their own. */
export async function setShopDefaultPayRate(ctx: Context, shopId: number, rate: number): Promise<PayRateChange> {
  assertCan(ctx.user, 'tekmetric', 'edit');
  const parsed = payRateCents.safeParse(rate);
  if (!parsed.success) throw new AppError('bad_request', parsed.error.issues.map((i) => i.message).join('; '));
  return withTransaction(ctx.db.pool, async (client) => {
    const shop = await shopInScope(ctx, client, shopId);
    if (shop.defaultRate === parsed.data) return { before: shop.defaultRate, after: shop.defaultRate, recomputedDays: [] };
    await client.query('UPDATE tm_shops SET default_pay_rate_cents = $2, updated_at = now() WHERE id = $1', [shopId, parsed.data]);
    const days = await daysPricedBy(client, shopId, null);
    await recompute(client, shopId, days);
    await writeAudit(ctx, { resource: 'tm_shops', recordId: String(shopId), action: 'update', businessId: shop.businessId, before: { defaultPayRateCents: shop.defaultRate }, after: { defaultPayRateCents: parsed.data, recomputedDays: days.length } }, client);
    return { before: shop.defaultRate, after: parsed.data, recomputedDays: days };
  });
}
