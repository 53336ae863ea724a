import type { Db } from '../db/index.js';
import type { JobQueue } from '../queue.js';

export interface Health {
  status: 'ok' | 'degraded';
  database: { ok: boolean; latencyMs?: number; error?: string };
  jobQueue: { ok: boolean; error?: string };
  uptimeSeconds: number;
}

/** What /api/healthz reports: can we reach the database, and is the job queue usable. */
export async function checkHealth(db: Db, jobs: JobQueue): Promise<Health> {
  const started = performance.now();
  const database = await db.pool
    .query('SELECT 1')
    .then(() => ({ ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 }))
    .catch((error: unknown) => ({ ok: false, error: error instanceof Error ? error.message : String(error) }));
  const queue = await jobs.health();
  return {
    status: database.ok && queue.ok ? 'ok' : 'degraded',
    database,
    jobQueue: queue.ok ? { ok: true } : { ok: false, error: queue.detail ?? 'the job queue is not running' },
    uptimeSeconds: Math.round(process.uptime()),
  };
}
