import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { daysFrom } from '../helpers/feeds.js';
import { todayIn } from '../../core/warehouse/ranges.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';
import { drainToSilver } from '../../core/ingest/silver.js';
import { insertBronzeEvents, type PosTransaction } from '../helpers/ingest.js';

const session = useBrowserApp();
const { canRun, signIn } = session;
const today = todayIn('Europe/London');

/** A week of sales in four stores (a third simulated, some corrected by a second send), as devices send them. */
function week(): { payload: PosTransaction; simulated: boolean }[] {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const names = ['Croissant', 'Baguette', 'Tart', 'Espresso', 'Latte', 'Muffin', 'Brioche', 'Scone'];
  const events: { payload: PosTransaction; simulated: boolean }[] = [];
  let n = 0;
  for (let day = -6; day <= 0; day++) {
    for (let i = 0; i < 60; i++) {
      // Rushes: morning, lunch and evening.
      const hour = [7, 8, 8, 9, 12, 12, 13, 17, 18, 18, 15, 10][Math.floor(next() * 12)]!;
      const items = Array.from({ length: 1 + Math.floor(next() * 4) }, () => {
        const qty = 1 + Math.floor(next() * 3);
        const unit = (150 + Math.floor(next() * 600)) / 100;
        return { product_name: names[Math.floor(next() * names.length)]!, qty, unit_price: unit, line_amount: Math.round(qty * unit * 100) / 100 };
      });
      const payload: PosTransaction = {
        transaction_id: `W-${++n}`,
        store_id: `S-${1 + Math.floor(next() * 4)}`,
        ts: `${daysFrom(today, day)}T${String(hour).padStart(2, '0')}:${String(Math.floor(next() * 60)).padStart(2, '0')}:00Z`,
        total_amount: Math.round(items.reduce((sum, item) => sum + item.line_amount * 100, 0)) / 100,
        items,
      };
      const simulated = next() < 0.35;
      events.push({ payload, simulated });
      // A corrected resend (the till voided all but the first line): silver replaces the transaction.
      if (next() < 0.08 && items.length > 1) events.push({ payload: { ...payload, items: payload.items.slice(0, 1), total_amount: items[0]!.line_amount }, simulated });
    }
  }
  return events;
}

describe.skipIf(!canRun)('Ingest dashboards in a real browser', () => {
  beforeAll(async () => {
    if (!canRun) return;
    const { app, t } = session;
    const pool = app.db.pool;
    await pool.query(`INSERT INTO shops (business_id, name, code) SELECT $1, 'Store ' || g, 'S-' || g FROM generate_series(1, 4) g`, [t.businessA]);
    await insertBronzeEvents(pool, t.businessA, week());
    // The silver worker's own core function moves them (and folds gold), as its job does. Today's sales run to
    // 18:00 UTC whatever the hour the test runs at: a day's tolerance keeps them from being flagged as future.
    await drainToSilver(app.system, { batchSize: 100, linkThreshold: 0.85, maxTransactionCents: 1_000_000, futureToleranceSeconds: 86_400, worker: 'browser-test' });
    // The events arrived over the last hour, each moved to silver a few seconds later; the worker ran every minute.
    await pool.query(`UPDATE ingest_events SET received_at = now() - make_interval(secs => (id % 3600)), processed_at = now() - make_interval(secs => (id % 3600)) + make_interval(secs => 0.2 + (id % 7) * 0.3) WHERE business_id = $1`, [t.businessA]);
    await pool.query(`UPDATE transactions t SET processed_at = e.processed_at FROM ingest_events e WHERE e.id = t.event_id AND t.business_id = $1`, [t.businessA]);
    await pool.query(`UPDATE ingest_etl_runs SET started_at = started_at - interval '30 minutes', finished_at = finished_at - interval '30 minutes'`);
    await pool.query(
      `INSERT INTO ingest_etl_runs (started_at, finished_at, events_claimed, transactions_written, events_failed, duration_ms, worker)
       SELECT now() - make_interval(mins => g) - interval '1 second', now() - make_interval(mins => g), 7 + g % 5, 7 + g % 5, (g % 9 = 0)::int, 80 + (g * 37) % 400, 'worker-1' FROM generate_series(0, 59) g`,
    );
    await pool.query(
      `INSERT INTO data_quality_alerts (business_id, severity, rule, store_code, transaction_id, message)
       VALUES ($1, 'warning', 'line_items_sum_to_total', 'S-1', 'W-3', 'lines differ from the total'), ($1, 'critical', 'negative_amounts', 'S-2', 'W-9', 'negative line')`,
      [t.businessA],
    );
  }, 180_000);

  async function openDashboard(page: Page, email: string, name: string): Promise<void> {
    await signIn(page, email);
    await page.goto(`${session.app.url}/admin/pages/dashboards`);
    await page.getByTestId('dashboards-page').waitFor({ timeout: 120_000 });
    await page.getByTestId('dashboard-select').selectOption({ label: name });
  }

  it('the Pipeline health dashboard draws throughput, latency, ETL runs and alerts, simulated beside real', { timeout: 240_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1600 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await openDashboard(page, session.t.users.opsA.email, 'Pipeline health');
    const widget = (title: string) => page.locator(`[data-testid^="widget-"][data-title="${title}"]`);
    await widget('Throughput per minute (bronze events, silver transactions)').locator('path.recharts-curve').first().waitFor({ timeout: 60_000 });
    await expect.poll(() => widget('Events per minute: simulated and real').locator('path.recharts-curve').count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    await widget('Bronze → silver latency per minute (average s)').locator('path.recharts-curve').first().waitFor({ timeout: 30_000 });
    await widget('ETL runs per minute').locator('path.recharts-rectangle').first().waitFor({ timeout: 30_000 });
    await widget('ETL run duration (average ms)').locator('path.recharts-curve').first().waitFor({ timeout: 30_000 });
    await expect.poll(() => widget('Events, last 24 hours: simulated and real').locator('path.recharts-sector').count(), { timeout: 30_000 }).toBe(2);
    await expect.poll(() => widget('Open data-quality alerts').getByTestId('kpi-value').textContent(), { timeout: 30_000 }).toBe('2');
    await expect.poll(() => widget('Events waiting for silver').getByTestId('kpi-value').textContent(), { timeout: 30_000 }).toBe('0');
    const lines = await session.app.db.pool.query<{ coverage: number }>(`SELECT round(100.0 * count(product_id) / count(*), 1)::float AS coverage FROM transaction_items WHERE business_id = $1`, [session.t.businessA]);
    await expect.poll(async () => Number((await widget('Product link coverage (% of line items linked)').getByTestId('kpi-value').textContent())?.replace(/[^\d.]/g, '')), { timeout: 30_000 }).toBeCloseTo(lines.rows[0]!.coverage, 0);
    await expect.poll(() => widget('Open data-quality alerts by rule').locator('tbody tr').count(), { timeout: 30_000 }).toBe(2);
    await expect(widget('Bronze → silver latency (average s)').getByTestId('kpi-value').textContent()).resolves.toMatch(/^[0-9]\.\d+$/);
    await page.screenshot({ path: screenshotPath('ingest-pipeline-health'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('the gold sales dashboard draws sales by store, hour and day, product mix, basket size and peak hours', { timeout: 240_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 2000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await openDashboard(page, session.t.users.opsA.email, 'Store sales (ingested)');
    const widget = (title: string) => page.locator(`[data-testid^="widget-"][data-title="${title}"]`);
    await expect.poll(() => widget('Sales by store by day').locator('path.recharts-curve').count(), { timeout: 60_000 }).toBeGreaterThanOrEqual(4);
    await widget('Sales by hour').locator('path.recharts-curve').first().waitFor({ timeout: 30_000 });
    await expect.poll(() => widget('Sales by store').locator('path.recharts-rectangle').count(), { timeout: 30_000 }).toBe(4);
    await expect.poll(() => widget('Real and simulated sales').locator('path.recharts-sector').count(), { timeout: 30_000 }).toBe(2);
    await expect.poll(() => widget('Product mix: top products').locator('path.recharts-rectangle').count(), { timeout: 30_000 }).toBe(8);
    await expect.poll(() => widget('Baskets by number of items').locator('path.recharts-rectangle').count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    await expect.poll(() => widget('Peak hours: transactions by hour and weekday').locator('path.recharts-curve').count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(7);
    await expect.poll(() => widget('Busiest hours').locator('tbody tr').count(), { timeout: 30_000 }).toBe(10);
    const silver = await session.app.db.pool.query<{ transactions: number }>('SELECT count(*)::int AS transactions FROM transactions WHERE business_id = $1', [session.t.businessA]);
    await expect.poll(() => widget('Transactions').getByTestId('kpi-value').textContent(), { timeout: 30_000 }).toBe(silver.rows[0]!.transactions.toLocaleString('en-GB'));
    await page.screenshot({ path: screenshotPath('ingest-gold-sales'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
