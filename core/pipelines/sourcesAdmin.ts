import type { Context } from '../context.js';
import { assertCan } from '../auth/permissions.js';
import { scopeIncludes } from '../auth/scope.js';
import { writeAudit } from '../auth/audit.js';
import { AppError } from '../errors.js';
import type { JobSender } from './lifecycle.js';
import { sourceColumns, type SourceRow } from './sources/index.js';
import { pollSource, type PollResult } from './watcher.js';

export interface SourceListing extends SourceRow {
  lastError: string | null;
  files: number;
  /** Files no pipeline claims, listed with why (never dropped). */
  unrouted: { name: string; reason: string | null; lastSeenAt: Date }[];
}

/** The sources of the caller's businesses, each with its count of files seen and its unrouted files. */
export async function listSources(ctx: Context): Promise<SourceListing[]> {
  assertCan(ctx.user, 'pipelineSources', 'list');
  const params: unknown[] = [];
  const where = ctx.scope.kind === 'all' ? 'TRUE' : (params.push(ctx.scope.businessId), 's.business_id = $1');
  const result = await ctx.db.pool.query<SourceListing>(
    `SELECT ${sourceColumns.replace(/(^|, )([a-z_]+)/g, '$1s.$2')}, s.last_error AS "lastError",
            (SELECT count(*)::int FROM pipeline_source_files f WHERE f.source_id = s.id) AS files,
            coalesce((SELECT json_agg(json_build_object('name', f.name, 'reason', f.unrouted_reason, 'lastSeenAt', f.last_seen_at) ORDER BY f.name)
                        FROM pipeline_source_files f WHERE f.source_id = s.id AND f.pipeline_name IS NULL), '[]') AS unrouted
       FROM pipeline_sources s WHERE ${where} ORDER BY s.name`,
    params,
  );
  return result.rows;
}

/** "Run now": looks at a source at once instead of at its next poll; audited. */
export async function pollSourceNow(ctx: Context, queue: JobSender, sourceId: string, dataDir: string): Promise<PollResult> {
  assertCan(ctx.user, 'pipelineRuns', 'new');
  const found = /^[0-9a-f-]{36}$/i.test(sourceId) ? (await ctx.db.pool.query<{ businessId: string }>(`SELECT business_id AS "businessId" FROM pipeline_sources WHERE id = $1`, [sourceId])).rows[0] : undefined;
  if (!found || !scopeIncludes(ctx.scope, found.businessId)) throw new AppError('not_found', `Pipeline source ${sourceId} was not found.`);
  const result = await pollSource(ctx, queue, sourceId, { dataDir });
  if (ctx.user.kind === 'user') await writeAudit(ctx, { resource: 'pipelineSources', recordId: sourceId, action: 'run_now', businessId: found.businessId, after: { taken: result.taken, queued: result.queued.length } });
  return result;
}
