import { assertCan } from '../auth/permissions.js';
import { writeAudit } from '../auth/audit.js';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import type { JobQueue } from '../queue.js';
import type { FeedSummary } from '../warehouse/loadFacts.js';
import { failInterruptedCommits, PROCESS_FEED_QUEUE } from './commit.js';
import { stagingTable } from './stage.js';

interface FeedRow {
  id: number;
  business_id: string;
  data_type: 'sales' | 'costs';
  filename: string;
  status: string;
  record_count: number;
  summary: FeedSummary;
  created_at: Date;
}

/** A feed the caller may see; another business's feed is "not found". */
async function findFeed(ctx: Context, feedId: number): Promise<FeedRow> {
  const result = await ctx.db.pool.query<FeedRow>('SELECT id, business_id, data_type, filename, status::text, record_count, summary, created_at FROM data_feeds WHERE id = $1', [feedId]);
  const feed = result.rows[0];
  if (!feed || (ctx.scope.kind === 'business' && feed.business_id !== ctx.scope.businessId)) throw new AppError('not_found', `Data feed ${feedId} was not found.`);
  return feed;
}

/**
 * What the page polls while a feed loads: `{ success, status, summary }`. A feed whose commit stopped
 * with its process is found out here and shown failed, not `processing` for ever.
 */
export async function feedTransformStatus(ctx: Context, feedId: number): Promise<{ success: true; feed_id: number; status: string; record_count: number; summary: FeedSummary }> {
  assertCan(ctx.user, 'feeds', 'show');
  let feed = await findFeed(ctx, feedId);
  if (feed.status === 'processing' && (await failInterruptedCommits(ctx, [feedId])) > 0) feed = await findFeed(ctx, feedId);
  return { success: true, feed_id: feed.id, status: feed.status, record_count: feed.record_count, summary: feed.summary };
}

/**
 * Recent feeds of the caller's business (all businesses for admins), newest first; with `uploadToken`, only
 * those committed from that upload (the page follows its own commit while the request runs).
 */
export async function listFeeds(ctx: Context, limit = 20, uploadToken?: string): Promise<FeedRow[]> {
  assertCan(ctx.user, 'feeds', 'list');
  const params: unknown[] = [Math.min(200, Math.max(1, limit))];
  const conditions: string[] = [];
  if (ctx.scope.kind === 'business') {
    params.push(ctx.scope.businessId);
    conditions.push(`business_id = $${params.length}`);
  }
  if (uploadToken !== undefined) {
    params.push(uploadToken);
    conditions.push(`upload_token = $${params.length}::uuid`);
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const result = await ctx.db.pool.query<FeedRow>(`SELECT id, business_id, data_type, filename, status::text, record_count, summary, created_at FROM data_feeds ${where} ORDER BY created_at DESC, id DESC LIMIT $1`, params);
  return result.rows;
}

/**
 * Loads a feed again. A failed feed still has its staging rows; a transformed one had them purged, so
 * they are rebuilt from its facts (which also re-prices COGS with today's product costs). The load
 * replaces the feed's facts, so totals never double.
 */
export async function rerunFeed(ctx: Context, queue: JobQueue, feedId: number): Promise<{ success: true; feed_id: number; status: 'queued' }> {
  assertCan(ctx.user, 'feeds', 'rerun');
  const feed = await findFeed(ctx, feedId);
  await withTransaction(ctx.db.pool, async (client) => {
    // Locked, so a load's purge of its staged rows waits, or has finished before they are counted here.
    const status = (await client.query<{ status: string }>('SELECT status::text FROM data_feeds WHERE id = $1 FOR UPDATE', [feedId])).rows[0]?.status;
    if (status === undefined) throw new AppError('not_found', `Data feed ${feedId} was not found.`);
    if (status === 'queued' || status === 'transforming' || status === 'processing') throw new AppError('conflict', `Data feed ${feedId} is ${status}; wait until it has finished.`);
    const table = stagingTable(feed.data_type);
    const staged = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE data_feed_id = $1`, [feedId]);
    if (Number(staged.rows[0]!.n) === 0) {
      const rebuilt =
        feed.data_type === 'sales'
          ? await client.query(
              `INSERT INTO staging_sales_items (data_feed_id, row_number, business_id, product_id, product_name, quantity, unit_price, discount, transaction_date, customer, channel, order_id)
               SELECT f.data_feed_id, f.source_row, f.business_id, f.product_id, coalesce(p.name, '(deleted product)'), f.quantity, f.unit_price, f.discount, f.date_key, cu.customer_key, ch.name, f.order_id
               FROM fact_sales f LEFT JOIN products p ON p.id = f.product_id LEFT JOIN dim_channel ch ON ch.id = f.channel_id
               LEFT JOIN dim_customer cu ON cu.business_id = f.business_id AND cu.id = f.customer_id
               WHERE f.business_id = $1 AND f.segment IN (0, $2) AND f.data_feed_id = $2`,
              [feed.business_id, feedId],
            )
          : await client.query(
              `INSERT INTO staging_costs (data_feed_id, row_number, business_id, product_id, product_name, cost, cost_date, cost_type)
               SELECT pc.data_feed_id, row_number() OVER (ORDER BY pc.id)::int, pc.business_id, pc.product_id, p.name, pc.amount, pc.effective_from, pc.cost_type
               FROM product_costs pc JOIN products p ON p.id = pc.product_id WHERE pc.business_id = $1 AND pc.data_feed_id = $2`,
              [feed.business_id, feedId],
            );
      if ((rebuilt.rowCount ?? 0) === 0) throw new AppError('conflict', `Data feed ${feedId} has nothing left to load: upload the file again.`);
    }
    const queuedAt = new Date().toISOString();
    await client.query(
      `UPDATE data_feeds SET status = 'queued', summary = summary || jsonb_build_object('stage', 'queued', 'queued_at', $2::text, 'error', null), updated_at = now() WHERE id = $1`,
      [feedId, queuedAt],
    );
    await writeAudit(ctx, { resource: 'feeds', recordId: String(feedId), action: 'rerun', businessId: feed.business_id, before: { status } }, client);
  });
  await queue.send(PROCESS_FEED_QUEUE, { feedId });
  return { success: true, feed_id: feedId, status: 'queued' };
}
