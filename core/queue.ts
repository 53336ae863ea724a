import type pg from 'pg';
import type { Context } from './context.js';
import { assertCan } from './auth/permissions.js';
import { AppError } from './errors.js';
import { writeAudit } from './auth/audit.js';
import { listWindow } from './paging.js';

/** What core needs from the job queue; jobs/ provides it over pg-boss. */
export interface JobQueue {
  /** `transaction`: the job is written with the caller's open transaction, so it exists only if that commits. */
  send(queue: string, data: object, options?: { singletonKey?: string; transaction?: pg.ClientBase }): Promise<string | null>;
  retry(queue: string, id: string): Promise<void>;
  health(): Promise<{ ok: boolean; detail?: string }>;
}

export const jobStates = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;
export type JobState = (typeof jobStates)[number];

/**
 * Whose jobs: Backhouse's own (its queues: feeds, mappings, refreshes…) or pg-boss's internal housekeeping
 * (`__pgboss__send-it` and the like, several a minute), which people looking for their work do not need.
 */
export const jobKinds = ['product', 'internal', 'all'] as const;
export type JobKind = (typeof jobKinds)[number];
const internalQueuePrefix = '__pgboss__';

export interface JobRow {
  id: string;
  queue: string;
  kind: Exclude<JobKind, 'all'>;
  state: JobState;
  retryCount: number;
  retryLimit: number;
  data: unknown;
  output: unknown;
  createdOn: Date;
  startedOn: Date | null;
  completedOn: Date | null;
}

const jobColumns = `id::text, name AS queue, CASE WHEN starts_with(name, '${internalQueuePrefix}') THEN 'internal' ELSE 'product' END AS kind, state::text, retry_count AS "retryCount", retry_limit AS "retryLimit", data, output,
  created_on AS "createdOn", started_on AS "startedOn", completed_on AS "completedOn"`;

export interface JobFilter {
  queue?: string;
  state?: JobState;
  /** Backhouse's own jobs unless said otherwise, or unless a queue is named. */
  kind?: JobKind;
}

function jobWhere(filter: JobFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.queue) {
    params.push(filter.queue);
    clauses.push(`name = $${params.length}`);
  }
  if (filter.state) {
    params.push(filter.state);
    clauses.push(`state = $${params.length}::pgboss.job_state`);
  }
  const kind = filter.kind ?? (filter.queue ? 'all' : 'product');
  if (kind !== 'all') clauses.push(`${kind === 'internal' ? '' : 'NOT '}starts_with(name, '${internalQueuePrefix}')`);
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Jobs newest first (Backhouse's own unless the filter says otherwise): what an admin looks at to find and retry failures. */
export async function listJobs(ctx: Context, filter: JobFilter, page: { skip: number; take: number }): Promise<{ rows: JobRow[]; total: number }> {
  assertCan(ctx.user, 'jobs', 'list');
  const { sql, params } = jobWhere(filter);
  const { skip, take } = listWindow(page);
  const [rows, total] = await Promise.all([
    ctx.db.pool.query<JobRow>(`SELECT ${jobColumns} FROM pgboss.job ${sql} ORDER BY created_on DESC, id DESC OFFSET ${skip} LIMIT ${take}`, params),
    ctx.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM pgboss.job ${sql}`, params),
  ]);
  return { rows: rows.rows, total: Number(total.rows[0]?.n ?? 0) };
}

export async function getJob(ctx: Context, id: string): Promise<JobRow> {
  assertCan(ctx.user, 'jobs', 'show');
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError('not_found', `Job ${id} was not found.`);
  const result = await ctx.db.pool.query<JobRow>(`SELECT ${jobColumns} FROM pgboss.job WHERE id = $1`, [id]);
  const job = result.rows[0];
  if (!job) throw new AppError('not_found', `Job ${id} was not found.`);
  return job;
}

/** Puts a failed job back in its queue, audited. Only failed jobs can be retried. */
export async function retryJob(ctx: Context, queue: JobQueue, id: string): Promise<JobRow> {
  assertCan(ctx.user, 'jobs', 'retry');
  const job = await getJob(ctx, id);
  if (job.state !== 'failed') throw new AppError('conflict', `Job ${id} is ${job.state}; only failed jobs can be retried.`);
  await queue.retry(job.queue, job.id);
  const after = await getJob(ctx, id);
  await writeAudit(ctx, { resource: 'jobs', recordId: id, action: 'retry', before: { state: job.state, retryCount: job.retryCount }, after: { state: after.state, retryCount: after.retryCount } });
  return after;
}
