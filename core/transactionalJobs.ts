import { createRequire } from 'node:module';
import type pg from 'pg';

/**
 * pg-boss's own statement for inserting a job (the one `boss.send` runs), so that a job sent here gets the
 * queue's retry, expiry and policy settings exactly as a send through pg-boss would. Read from the package
 * rather than copied: a pg-boss upgrade that changes its job table changes this too.
 */
const insertJobSql = (createRequire(import.meta.url)('pg-boss/src/plans.js') as { insertJob(schema: string): string }).insertJob('pgboss');

export interface TransactionalSendOptions {
  /** With the queue's policy (`stately`, `singleton`…), at most one such job per key waits or runs. */
  singletonKey?: string;
  /** Not before this instant. */
  startAfter?: Date;
}

/**
 * Sends a pg-boss job on the caller's connection, inside its transaction: the job exists if and only if the
 * transaction commits, so no crash leaves a change without its job or a job without its change. Returns the
 * job's id, or null when the queue's policy already holds such a job (a duplicate send is then a no-op).
 * The queue must exist (jobs/queues.ts creates every queue at start). The one way a job is written inside a
 * transaction: `JobQueue.send(…, { transaction })` comes here too.
 */
export async function sendInTransaction(client: pg.ClientBase, queue: string, data: object, options: TransactionalSendOptions = {}): Promise<string | null> {
  const values = [null, queue, JSON.stringify(data), null, options.startAfter?.toISOString() ?? null, options.singletonKey ?? null, null, 0, null, null, null, null, null, null, null, null, null, null, null];
  const result = await client.query<{ id: string }>(insertJobSql, values);
  return result.rows[0]?.id ?? null;
}
