import pg from 'pg';
import type PgBoss from 'pg-boss';
import { systemContext } from '../core/context.js';
import { tryTransactionLock, withTransaction, type Db } from '../core/db/index.js';
import type { Logger } from '../core/log.js';
import type { QueueDefinition } from './queues.js';

/**
 * Liveness of long jobs. pg-boss 10 has no heartbeat: an active job whose worker died stays active until it
 * expires (an hour for a feed load), and its feed or execution with it. So the worker of a job of a queue
 * that opts in (`checkLiveness`) holds a PostgreSQL session advisory lock for the attempt, on a connection
 * of its own, for the attempt's whole run; PostgreSQL lets go of it when the process dies (its connections
 * close). Every worker process's reaper looks at the active jobs of those queues: an attempt whose lock is
 * free on two sweeps in a row has lost its worker, and is failed so that pg-boss retries it at once (or marks
 * it failed when it has no retries left, and its queue's `abandon` marks the work failed). What the job was
 * doing is its domain's to redo: a retried load starts over and converges.
 */

/** One attempt of a job: pg-boss re-runs a job under the same id, with `retryCount` one higher. */
interface JobAttempt {
  id: string;
  name: string;
  retryCount: number;
}

const attemptLockKey = (job: Pick<JobAttempt, 'id' | 'retryCount'>) => `backhouse.job:${job.id}:${job.retryCount}`;

/** What a worker answers for an attempt found taken for dead before it could start: its retry runs the job. */
export interface SupersededAttempt {
  superseded: string;
}

/**
 * Runs `work` for one attempt of a job while holding the attempt's lock. The lock is taken before anything
 * else; an attempt the reaper failed meanwhile (its worker took longer than a sweep to get a connection) is
 * not run. A lock connection that drops while `work` runs is opened again and the lock taken back.
 */
export async function runHoldingJobLock<T>(db: Db, job: JobAttempt, log: Logger, work: () => Promise<T>): Promise<T | SupersededAttempt> {
  const lock = await holdAttemptLock(db.url, job, log);
  if (!lock) {
    const superseded = 'This attempt was taken for dead before it started (its lock came too late); the job is retried.';
    log.warn(superseded);
    return { superseded };
  }
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

/** A retake after a lost lock connection is tried at once, then this often while the attempt runs. */
const RETAKE_DELAY_MS = 1000;

async function holdAttemptLock(url: string, job: JobAttempt, log: Logger): Promise<{ release(): Promise<void> } | null> {
  let client: pg.Client | null = null;
  let released = false;

  /**
   * Opens a connection and takes the lock there, waiting for a reaper that holds it for a moment; null (and
   * nothing held) when the attempt is no longer the job's current one.
   */
  const take = async (): Promise<pg.Client | null> => {
    const connection = new pg.Client({ connectionString: url, application_name: 'backhouse-job-lock' });
    // A lost connection is handled by the 'end' listener below; an unheard 'error' would end the process.
    connection.on('error', () => undefined);
    await connection.connect();
    try {
      // The server notices a peer that vanished without closing the connection (a machine's power lost) in
      // about 25 s, instead of the operating system's default of two hours, and lets the lock go.
      await connection.query('SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3');
      await connection.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [attemptLockKey(job)]);
      const current = (await connection.query(`SELECT 1 FROM pgboss.job WHERE name = $1 AND id = $2 AND state = 'active' AND retry_count = $3`, [job.name, job.id, job.retryCount])).rowCount === 1;
      if (!current) {
        await connection.end();
        return null;
      }
      connection.once('end', () => void retake());
      return connection;
    } catch (error) {
      await connection.end().catch(() => undefined);
      throw error;
    }
  };

  const retake = async () => {
    client = null;
    for (let tries = 0; !released; tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, RETAKE_DELAY_MS));
      if (released) return;
      try {
        const again = await take();
        if (!again) {
          log.warn('this job was taken for dead while its connection to the database was lost, and is retried meanwhile: the two runs overlap');
          return;
        }
        if (released) await again.end();
        else client = again;
        log.info({ tries: tries + 1 }, 'the job lock connection was lost and is back');
        return;
      } catch (error) {
        if (tries === 0) log.warn({ err: error }, 'the job lock connection was lost; taking the lock again');
      }
    }
  };

  client = await take();
  if (!client) return null;
  return {
    async release() {
      released = true;
      // Closing the connection gives the lock back.
      await client?.end().catch(() => undefined);
    },
  };
}

/** What the reaper needs of a queue's definition. */
type WatchedQueue = Pick<QueueDefinition, 'name' | 'checkLiveness' | 'abandon'>;

export interface JobReaper {
  /** Looks once; answers the ids of the jobs failed for dead by this look. */
  sweep(): Promise<string[]>;
}

/**
 * The reaper of the queues that opt in (`checkLiveness`). An attempt whose lock is free on one sweep is
 * suspected, and failed when the next sweep finds it free again: a worker between its fetch and its lock, or
 * taking its lock back after a lost connection, is not taken for dead. A job failed on its last attempt is
 * handed to its queue's `abandon`. The suspects are this process's own; any number of workers may reap side
 * by side (the attempt's lock, taken for the failing transaction, lets one do it).
 */
export function createJobReaper(db: Db, boss: PgBoss, definitions: WatchedQueue[], log: Logger): JobReaper {
  const watched = new Map(definitions.filter((definition) => definition.checkLiveness).map((definition) => [definition.name, definition]));
  let suspects = new Set<string>();
  return {
    async sweep() {
      if (watched.size === 0) return [];
      const active = await db.pool.query<JobAttempt & { data: unknown }>(`SELECT id::text, name, retry_count AS "retryCount", data FROM pgboss.job WHERE state = 'active' AND name = ANY($1::text[])`, [[...watched.keys()]]);
      const free = new Set<string>();
      const reaped: string[] = [];
      for (const job of active.rows) {
        const key = attemptLockKey(job);
        const outcome = await withTransaction(db.pool, async (tx) => {
          if (!(await tryTransactionLock((sql, params) => tx.query(sql, params).then((result) => result.rows), key))) return 'alive';
          if (!suspects.has(key)) return 'suspected';
          const current = await tx.query(`SELECT 1 FROM pgboss.job WHERE name = $1 AND id = $2 AND state = 'active' AND retry_count = $3 FOR UPDATE`, [job.name, job.id, job.retryCount]);
          if (current.rowCount !== 1) return 'moved on';
          await boss.fail(job.name, job.id, { message: 'The worker running this job stopped (its process ended or lost the database); the job was taken for dead.' }, { db: { executeSql: (text, values) => tx.query(text, values) } });
          // Retried at once: the backoff is for a job that failed, not for one whose worker died.
          const retried = await tx.query(`UPDATE pgboss.job SET start_after = now() WHERE name = $1 AND id = $2 AND state = 'retry'`, [job.name, job.id]);
          return retried.rowCount === 1 ? 'retried' : 'given up';
        });
        if (outcome === 'suspected') free.add(key);
        if (outcome === 'retried' || outcome === 'given up') {
          reaped.push(job.id);
          const jobLog = log.child({ job: job.id, queue: job.name, attempt: job.retryCount + 1 });
          jobLog.warn(outcome === 'retried' ? 'a running job lost its worker: retried at once' : 'a running job lost its worker on its last attempt: failed');
          const abandon = outcome === 'given up' ? watched.get(job.name)?.abandon : undefined;
          await abandon?.({ ...systemContext(`job:${job.name}`, db, jobLog), requestId: job.id }, job).catch((error: unknown) => jobLog.error({ err: error }, 'the given-up job could not mark its work failed'));
        }
      }
      suspects = free;
      return reaped;
    },
  };
}

/** Runs the reaper at once and then every `intervalSeconds` until stopped (a stop waits for a sweep under way). */
export function startJobReaper(reaper: JobReaper, intervalSeconds: number, log: Logger): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = reaper
      .sweep()
      .then(() => undefined)
      .catch((error: unknown) => log.warn({ err: error }, 'the job reaper could not look at running jobs; it tries again'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalSeconds * 1000);
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
