import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextFor, type Context } from '../../core/context.js';
import { startFakeTekmetric, type FakeTekmetric } from '../../core/demo/fake-tekmetric/index.js';
import { createLogger } from '../../core/log.js';
import { checkShopMetrics } from '../../core/tekmetric/metrics-check.js';
import { rebuildShopMetrics } from '../../core/tekmetric/metrics.js';
import { setShopDefaultPayRate, setTechnicianPayRate } from '../../core/tekmetric/pay-rates.js';
import type { LinkedShop } from '../../core/tekmetric/connections.js';
import { TEKMETRIC_METRICS_CHECK_QUEUE } from '../../jobs/tekmetric-queues.js';
import { apiClient, seedTenants, startTestApp, type TestApp, type Tenants } from '../helpers/app.js';
import { syncFakeIntoBusiness } from '../helpers/tekmetric.js';

/**
 * Keeping the incrementally kept metrics right: the nightly check (recompute recent days, compare, alert,
 * repair) on a pg-boss worker, and pay-rate edits recomputing the past days they price.
 */
let app: TestApp;
let fake: FakeTekmetric;
let tenants: Tenants;
let shop: LinkedShop;


beforeAll(async () => {
  app = await startTestApp();
  tenants = await seedTenants(app.system);
  fake = await startFakeTekmetric({ seed: 31, shops: 2, repairOrdersPerShop: 120, days: 20 });
  shop = (await syncFakeIntoBusiness(app.system, fake, tenants.businessB))[0]!;
}, 180_000);
afterAll(async () => {
  await fake?.close();
  await app?.close();
});

const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) => (await app.db.pool.query(text, params)).rows as T[];
const person = (role: 'admin' | 'ops' | 'manager', businessId: string | null, shopIds: string[] = []): Context =>
  contextFor({ kind: 'user', id: randomUUID(), email: `${role}@upkeep.test`, name: role, role, businessId, shopIds }, app.db, createLogger('silent'));

/** Both metric tables of a shop, every column but when it was computed, in key order. */
async function metricsOf(shopId: number) {
  return {
    shop: await sql(`SELECT to_jsonb(m) - 'computed_at' AS row FROM tm_daily_shop_metrics m WHERE shop_id = $1 ORDER BY metric_date`, [shopId]),
    techs: await sql(`SELECT to_jsonb(t) - 'computed_at' AS row FROM tm_tech_daily_metrics t WHERE shop_id = $1 ORDER BY metric_date, technician_id`, [shopId]),
  };
}

/** What a full rebuild from the warehouse gives, without keeping it. */
async function rebuiltOf(shopId: number) {
  const client = await app.db.pool.connect();
  try {
    await client.query('BEGIN');
    await rebuildShopMetrics(client, shopId);
    const rows = {
      shop: (await client.query(`SELECT to_jsonb(m) - 'computed_at' AS row FROM tm_daily_shop_metrics m WHERE shop_id = $1 ORDER BY metric_date`, [shopId])).rows,
      techs: (await client.query(`SELECT to_jsonb(t) - 'computed_at' AS row FROM tm_tech_daily_metrics t WHERE shop_id = $1 ORDER BY metric_date, technician_id`, [shopId])).rows,
    };
    await client.query('ROLLBACK');
    return rows;
  } finally {
    client.release();
  }
}

const openAlerts = () => sql<{ view_name: string; message: string }>(`SELECT view_name, message FROM warehouse_alerts WHERE kind = 'aggregate_mismatch' AND closed_at IS NULL AND view_name LIKE 'tm_%' ORDER BY view_name`);

describe('the nightly check of the Tekmetric metrics', () => {
  it('finds nothing after a sync: the incrementally kept rows equal their recomputation', async () => {
    const result = await checkShopMetrics(app.system, { days: 30, repair: true });
    expect(result.checks.map((c) => [c.aggregate, c.differences.length])).toEqual([
      ['tm_daily_shop_metrics', 0],
      ['tm_tech_daily_metrics', 0],
    ]);
    expect(await openAlerts()).toEqual([]);
  });

  it('a corrupted shop day and a lost technician row raise an alert, run as the scheduled pg-boss job, and are repaired', async () => {
    const days = await sql<{ day: string }>(`SELECT metric_date::text AS day FROM tm_tech_daily_metrics WHERE shop_id = $1 ORDER BY metric_date DESC LIMIT 2`, [shop.shopId]);
    const good = await metricsOf(shop.shopId);
    await sql(`UPDATE tm_daily_shop_metrics SET total_sales_cents = total_sales_cents + 100, gross_profit_cents = gross_profit_cents - 7 WHERE shop_id = $1 AND metric_date = $2`, [shop.shopId, days[0]!.day]);
    await sql(`DELETE FROM tm_tech_daily_metrics WHERE shop_id = $1 AND metric_date = $2`, [shop.shopId, days[1]!.day]);

    const jobId = (await app.jobs.send(TEKMETRIC_METRICS_CHECK_QUEUE, {}))!;
    await expect
      .poll(async () => (await sql(`SELECT state::text, output FROM pgboss.job WHERE id = $1`, [jobId]))[0], { timeout: 60_000, interval: 250 })
      .toMatchObject({ state: 'completed', output: { alerted: ['tm_daily_shop_metrics', 'tm_tech_daily_metrics'] } });
    const alerts = await openAlerts();
    expect(alerts.map((a) => a.view_name)).toEqual(['tm_daily_shop_metrics', 'tm_tech_daily_metrics']);
    expect(alerts[0]!.message).toContain(days[0]!.day);
    expect(alerts[0]!.message).toContain('repaired');
    expect(await metricsOf(shop.shopId)).toEqual(good);
    const [recorded] = await sql<{ differences: number; sample: { stored: { total_sales_cents: number }; expected: { total_sales_cents: number } }[] }>(
      `SELECT differences, sample FROM aggregate_checks WHERE aggregate = 'tm_daily_shop_metrics' ORDER BY id DESC LIMIT 1`,
    );
    expect(recorded!.differences).toBe(1);
    expect(recorded!.sample[0]!.stored.total_sales_cents - recorded!.sample[0]!.expected.total_sales_cents).toBe(100);

    // The next clean check closes the alerts.
    await checkShopMetrics(app.system, { repair: true });
    expect(await openAlerts()).toEqual([]);
  });

  it('without repair, a difference is reported and left; a day outside the recent ones is not read; only administrators run it', async () => {
    const [latest] = await sql<{ day: string }>(`SELECT max(metric_date)::text AS day FROM tm_daily_shop_metrics WHERE shop_id = $1`, [shop.shopId]);
    await sql(`UPDATE tm_daily_shop_metrics SET car_count = car_count + 1 WHERE shop_id = $1 AND metric_date = $2`, [shop.shopId, latest!.day]);
    const [oldest] = await sql<{ day: string }>(`SELECT min(metric_date)::text AS day FROM tm_daily_shop_metrics WHERE shop_id = $1`, [shop.shopId]);
    await sql(`UPDATE tm_daily_shop_metrics SET car_count = car_count + 1 WHERE shop_id = $1 AND metric_date = $2`, [shop.shopId, oldest!.day]);
    const result = await checkShopMetrics(app.system, { days: 7 });
    expect(result.checks[0]!.differences.map((d) => d.key)).toEqual([{ shop_id: String(shop.shopId), metric_date: latest!.day }]);
    expect(result.checks[0]!.repaired).toBe(false);
    const [kept] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM tm_daily_shop_metrics m WHERE shop_id = $1 AND metric_date = $2 AND car_count = (SELECT count(DISTINCT vehicle_id) FROM tm_repair_orders r WHERE r.shop_id = m.shop_id AND r.posted_date = m.metric_date AND r.status_id IN (5, 6) AND r.deleted_at IS NULL) + 1`, [shop.shopId, latest!.day]);
    expect(kept!.n).toBe(1);
    await expect(checkShopMetrics(person('ops', tenants.businessB))).rejects.toMatchObject({ code: 'forbidden' });
    await checkShopMetrics(app.system, { days: 400, repair: true });
    expect(await metricsOf(shop.shopId)).toEqual(await rebuiltOf(shop.shopId));
  });
});

describe('pay-rate edits', () => {
  beforeAll(async () => {
    // Tekmetric's API gives no pay rates: the shop's people set them (all but one technician here).
    for (const tech of fake.shops[0]!.technicians) if (tech.payRateCents !== null) await setTechnicianPayRate(person('admin', null), shop.shopId, tech.id, tech.payRateCents);
  });

  it('a technician\'s new rate recomputes the labor cost and gross profit of every past day of their work, and is audited', async () => {
    const tech = fake.shops[0]!.technicians.find((t) => t.payRateCents !== null)!;
    const before = await sql<{ day: string; labor_cost_cents: string; pay_rate_cents: string }>(
      `SELECT metric_date::text AS day, labor_cost_cents, pay_rate_cents FROM tm_tech_daily_metrics WHERE shop_id = $1 AND technician_id = $2 ORDER BY metric_date`,
      [shop.shopId, tech.id],
    );
    expect(before.length).toBeGreaterThan(3);
    const ops = person('ops', tenants.businessB);
    const change = await setTechnicianPayRate(ops, shop.shopId, tech.id, tech.payRateCents! + 1000);
    expect(change.before).toBe(tech.payRateCents);
    expect(change.recomputedDays).toEqual(expect.arrayContaining(before.map((row) => row.day)));

    const after = await sql<{ day: string; labor_cost_cents: string; pay_rate_cents: string; hours_sold: string }>(
      `SELECT metric_date::text AS day, labor_cost_cents, pay_rate_cents, hours_sold FROM tm_tech_daily_metrics WHERE shop_id = $1 AND technician_id = $2 ORDER BY metric_date`,
      [shop.shopId, tech.id],
    );
    expect(after.map((row) => row.day)).toEqual(before.map((row) => row.day));
    for (const row of after) expect(Number(row.pay_rate_cents)).toBe(tech.payRateCents! + 1000);
    // The oldest day too, and the shop's gross profit with it: what a full rebuild gives.
    expect(Number(after[0]!.labor_cost_cents)).toBeGreaterThan(Number(before[0]!.labor_cost_cents));
    expect(await metricsOf(shop.shopId)).toEqual(await rebuiltOf(shop.shopId));
    const [audit] = await sql<{ before: unknown; after: { payRateCents: number } }>(`SELECT before, after FROM audit_log WHERE resource = 'tm_employees' AND record_id = $1 ORDER BY id DESC LIMIT 1`, [`${shop.shopId}:${tech.id}`]);
    expect(audit).toMatchObject({ before: { payRateCents: tech.payRateCents }, after: { payRateCents: tech.payRateCents! + 1000 } });

    // The same rate again changes nothing.
    expect((await setTechnicianPayRate(ops, shop.shopId, tech.id, tech.payRateCents! + 1000)).recomputedDays).toEqual([]);
  });

  it('taking a rate away prices that technician at the shop average; the shop default prices shops whose technicians have none', async () => {
    const tech = fake.shops[0]!.technicians.find((t) => t.payRateCents !== null)!;
    const admin = person('admin', null);
    await setTechnicianPayRate(admin, shop.shopId, tech.id, null);
    const sources = await sql<{ rate_source: string }>(`SELECT DISTINCT rate_source FROM tm_tech_daily_metrics WHERE shop_id = $1 AND technician_id = $2`, [shop.shopId, tech.id]);
    expect(sources).toEqual([{ rate_source: 'shop_avg' }]);
    expect(await metricsOf(shop.shopId)).toEqual(await rebuiltOf(shop.shopId));

    // Nobody in the shop has a rate: the default prices everyone, and changing it moves every day's gross profit.
    await sql(`UPDATE tm_employees SET pay_rate_cents = NULL WHERE shop_id = $1`, [shop.shopId]);
    await checkShopMetrics(app.system, { days: 400, repair: true });
    const grossBefore = await sql<{ gp: string }>(`SELECT sum(gross_profit_cents) AS gp FROM tm_daily_shop_metrics WHERE shop_id = $1`, [shop.shopId]);
    const change = await setShopDefaultPayRate(admin, shop.shopId, 5000);
    expect(change).toMatchObject({ before: 2500, after: 5000 });
    const hours = await sql<{ hours: string }>(`SELECT sum(labor_cost_cents) AS cost, sum(hours_sold) AS hours FROM tm_tech_daily_metrics WHERE shop_id = $1`, [shop.shopId]);
    const grossAfter = await sql<{ gp: string }>(`SELECT sum(gross_profit_cents) AS gp FROM tm_daily_shop_metrics WHERE shop_id = $1`, [shop.shopId]);
    expect(Number(grossAfter[0]!.gp)).toBeLessThan(Number(grossBefore[0]!.gp));
    expect(Number(hours[0]!.hours)).toBeGreaterThan(0);
    expect(await sql(`SELECT DISTINCT rate_source, pay_rate_cents FROM tm_tech_daily_metrics WHERE shop_id = $1`, [shop.shopId])).toEqual([{ rate_source: 'default', pay_rate_cents: '5000' }]);
    expect(await metricsOf(shop.shopId)).toEqual(await rebuiltOf(shop.shopId));
  });

  it('through the API: ops set a technician\'s rate and the shop default; a manager gets 403', async () => {
    const tech = fake.shops[0]!.technicians[0]!;
    const ops = await apiClient(app.url, tenants.users.opsB.email);
    const set = await ops.call('PUT', `/api/tekmetric/shops/${shop.shopId}/employees/${tech.id}/pay-rate`, { pay_rate_cents: 4321 });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body!.data.after).toBe(4321);
    expect(set.body!.data.recomputedDays.length).toBeGreaterThan(0);
    const [row] = await sql(`SELECT DISTINCT pay_rate_cents FROM tm_tech_daily_metrics WHERE shop_id = $1 AND technician_id = $2`, [shop.shopId, tech.id]);
    expect(row).toEqual({ pay_rate_cents: '4321' });
    const bad = await ops.call('PUT', `/api/tekmetric/shops/${shop.shopId}/default-pay-rate`, { pay_rate_cents: 'lots' });
    expect(bad.status).toBe(400);
    expect((await ops.call('PUT', `/api/tekmetric/shops/${shop.shopId}/default-pay-rate`, { pay_rate_cents: 2600 })).status).toBe(200);
    const manager = await apiClient(app.url, tenants.users.managerB.email);
    expect((await manager.call('PUT', `/api/tekmetric/shops/${shop.shopId}/default-pay-rate`, { pay_rate_cents: 1 })).status).toBe(403);
    expect(await metricsOf(shop.shopId)).toEqual(await rebuiltOf(shop.shopId));
  });

  it('managers may not set rates; another business\'s shop reads as absent; a negative rate is a clear 400', async () => {
    const tech = fake.shops[0]!.technicians[0]!;
    await expect(setTechnicianPayRate(person('manager', tenants.businessB, [shop.backhouseShopId]), shop.shopId, tech.id, 3000)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(setShopDefaultPayRate(person('ops', tenants.businessA), shop.shopId, 3000)).rejects.toMatchObject({ code: 'not_found' });
    await expect(setTechnicianPayRate(person('ops', tenants.businessB), shop.shopId, tech.id, -5)).rejects.toMatchObject({ code: 'bad_request', message: 'The pay rate cannot be negative' });
    await expect(setTechnicianPayRate(person('ops', tenants.businessB), shop.shopId, 987654, 3000)).rejects.toMatchObject({ code: 'not_found' });
  });
});
