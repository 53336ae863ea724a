import type PgBoss from 'pg-boss';
import type { Context } from '../core/context.js';
import { purgeExpiredAuthState } from '../core/system/housekeeping.js';
import { probeInput, runProbe } from '../core/system/probe.js';

/** A queue: its pg-boss options, and a handler that parses the job and makes one call into core/. */
export interface QueueDefinition {
  name: string;
  options: Omit<PgBoss.Queue, 'name'>;
  /** Cron expression (UTC) when the queue is fed by a schedule. */
  schedule?: string;
  handle(ctx: Context, job: PgBoss.JobWithMetadata<unknown>): Promise<unknown>;
}

export const queues: QueueDefinition[] = [
  {
    name: 'system.probe',
    options: { retryLimit: 3, retryDelay: 1, retryBackoff: true, expireInSeconds: 60 },
    handle: async (_ctx, job) => runProbe(probeInput.parse(job.data ?? {}), job.retryCount),
  },
  {
    name: 'system.housekeeping',
    options: { retryLimit: 2, retryDelay: 30, retryBackoff: true, policy: 'singleton' },
    schedule: '*/15 * * * *',
    handle: async (ctx) => purgeExpiredAuthState(ctx),
  },
];
