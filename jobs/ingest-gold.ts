import type { QueueDefinition } from './queues.js';
import { recomputeGold } from '../core/ingest/gold.js';

/** The queue of the nightly gold check (core/ingest/gold.ts, `recomputeGold`). */
export const GOLD_RECOMPUTE_QUEUE = 'ingest.gold-recompute';

export const ingestGoldQueues: QueueDefinition[] = [
  {
    // Gold recomputed from silver nightly (UTC, after the warehouse's refresh): any difference is an alert in
    // warehouse_alerts and is repaired, so dashboards show silver's figures again.
    name: GOLD_RECOMPUTE_QUEUE,
    checkLiveness: true,
    options: { retryLimit: 2, retryDelay: 300, retryBackoff: true, expireInSeconds: 3600, policy: 'singleton' },
    schedule: '30 2 * * *',
    handle: async (ctx) => {
      const result = await recomputeGold(ctx, { repair: true });
      return { alerted: result.alerted, checks: result.checks.map((c) => ({ aggregate: c.aggregate, skipped: c.skipped, differences: c.differences.length, repaired: c.repaired, durationMs: c.durationMs })) };
    },
  },
];
