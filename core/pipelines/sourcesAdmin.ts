import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
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

/** A Drive folder id, or the folder's address (`…/drive/folders/<id>`), from which the id is taken. */
const driveFolder = z
  .string()
  .trim()
  .transform((value) => /\/folders\/([A-Za-z0-9_-]+)/.exec(value)?.[1] ?? value)
  .pipe(z.string().regex(/^[A-Za-z0-9_-]{10,200}$/, 'must be a Google Drive folder id or the folder’s address (https://drive.google.com/drive/folders/<id>)'));

export const sourceInput = z.object({
  businessId: z.string({ message: 'must name a business' }).uuid('must name a business'),
  name: z.string({ message: 'is required' }).trim().min(1, 'is required').max(200, 'may be at most 200 characters'),
  kind: z.enum(['local', 'google_drive'], { message: 'must be local (a folder on this machine) or google_drive' }).default('local'),
  location: z.string({ message: 'is required' }).trim().min(1, 'is required').max(2000),
  enabled: z.boolean().default(true),
  pollIntervalSeconds: z.coerce.number({ message: 'must be a number of seconds' }).int('must be a whole number of seconds').min(60, 'must be at least 60 seconds (the watcher looks every minute)').max(86_400, 'may be at most 86400 seconds (a day)').default(300),
});
export type SourceInput = z.input<typeof sourceInput>;

/** A source's location as stored (a Drive folder's id taken from its address), or what is wrong with it. */
function checkLocation(kind: 'local' | 'google_drive', location: string): { location: string } | { problem: string } {
  if (kind === 'google_drive') {
    const parsed = driveFolder.safeParse(location);
    return parsed.success ? { location: parsed.data } : { problem: parsed.error.issues[0]!.message };
  }
  if (!path.isAbsolute(location)) return { problem: 'must be a folder’s full path on the machine the workers run on (such as /srv/drops/stores)' };
  if (!fs.statSync(location, { throwIfNoEntry: false })?.isDirectory()) return { problem: `is not a folder on this machine (${location}): create it or correct the path` };
  return { location };
}

/** The input checked field by field; every field's problem is reported at once (the location's too when other fields are wrong). */
function checkedSource(input: unknown): z.output<typeof sourceInput> {
  const parsed = sourceInput.safeParse(input);
  const issues = parsed.success ? [] : parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || 'input', reason: issue.message }));
  const raw = input as { kind?: unknown; location?: unknown };
  const kind = parsed.success ? parsed.data.kind : raw.kind === 'google_drive' ? 'google_drive' : raw.kind === undefined || raw.kind === 'local' ? 'local' : null;
  const location = parsed.success ? parsed.data.location : typeof raw.location === 'string' ? raw.location.trim() : '';
  const checked = kind && location ? checkLocation(kind, location) : null;
  if (checked && 'problem' in checked) issues.push({ field: 'location', reason: checked.problem });
  if (parsed.success && issues.length === 0) return { ...parsed.data, location: (checked as { location: string }).location };
  throw new AppError('validation_failed', `The source is not valid: ${issues.map((issue) => `${issue.field} ${issue.reason}`).join('; ')}.`, issues);
}

async function sourceRow(client: Pick<Context['db']['pool'], 'query'>, id: string): Promise<SourceRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  return (await client.query<SourceRow>(`SELECT ${sourceColumns} FROM pipeline_sources WHERE id = $1`, [id])).rows[0] ?? null;
}

/** One source the caller may see. */
export async function getSource(ctx: Context, id: string): Promise<SourceRow> {
  assertCan(ctx.user, 'pipelineSources', 'show');
  const row = await sourceRow(ctx.db.pool, id);
  if (!row || !scopeIncludes(ctx.scope, row.businessId)) throw new AppError('not_found', `Pipeline source ${id} was not found.`);
  return row;
}

const nameTaken = (error: unknown): never => {
  if ((error as { code?: string }).code === '23505') throw new AppError('validation_failed', 'The business already has a source of that name; choose another name.', [{ field: 'name', reason: 'is already used by another source of the business' }]);
  if ((error as { code?: string }).code === '23503') throw new AppError('validation_failed', 'The business the source is for does not exist.', [{ field: 'businessId', reason: 'names no business' }]);
  throw error;
};

/** A new local-folder or Google Drive source, watched from its next poll; audited. A business's people create theirs only. */
export async function createSource(ctx: Context, input: SourceInput | Record<string, unknown>): Promise<SourceRow> {
  assertCan(ctx.user, 'pipelineSources', 'new');
  const values = checkedSource({ ...input, businessId: ctx.scope.kind === 'business' ? ctx.scope.businessId : (input as { businessId?: unknown }).businessId });
  return withTransaction(ctx.db.pool, async (tx) => {
    const created = await tx
      .query<SourceRow>(
        `INSERT INTO pipeline_sources (business_id, name, kind, location, enabled, poll_interval_seconds) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${sourceColumns}`,
        [values.businessId, values.name, values.kind, values.location, values.enabled, values.pollIntervalSeconds],
      )
      .catch(nameTaken);
    const row = created.rows[0]!;
    await writeAudit(ctx, { resource: 'pipelineSources', recordId: row.id, action: 'create', businessId: row.businessId, after: row }, tx);
    return row;
  });
}

/** Edits a source (disabling it is `enabled: false`: it is no longer polled, its files and runs stay); audited. */
export async function updateSource(ctx: Context, id: string, patch: Partial<SourceInput> | Record<string, unknown>): Promise<SourceRow> {
  assertCan(ctx.user, 'pipelineSources', 'edit');
  const before = await getSource(ctx, id);
  const given = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
  const values = checkedSource({ ...before, ...given, businessId: before.businessId });
  return withTransaction(ctx.db.pool, async (tx) => {
    const updated = await tx
      .query<SourceRow>(
        `UPDATE pipeline_sources SET name = $2, kind = $3, location = $4, enabled = $5, poll_interval_seconds = $6, updated_at = now(),
                last_error = CASE WHEN kind = $3 AND location = $4 THEN last_error END
          WHERE id = $1 RETURNING ${sourceColumns}`,
        [id, values.name, values.kind, values.location, values.enabled, values.pollIntervalSeconds],
      )
      .catch(nameTaken);
    const row = updated.rows[0]!;
    await writeAudit(ctx, { resource: 'pipelineSources', recordId: id, action: 'update', businessId: row.businessId, before, after: row }, tx);
    return row;
  });
}
