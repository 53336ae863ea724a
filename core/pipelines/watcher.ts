import fs from 'node:fs';
import path from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { todayIn } from '../warehouse/ranges.js';
import { createRun, latestRunOfDay, queueFileJobs, type FileJobRow, type JobSender, type NewFileJob, type PipelineRunRow } from './lifecycle.js';
import { peekFile } from './peek.js';
import { routeFile } from './registry.js';
import { openSource, sourceColumns, type SourceRow } from './sources/index.js';
import type { SourceFile } from './sources/source.js';

export interface PollResult {
  sourceId: string;
  listed: number;
  /** New or changed files taken (routed or not). */
  taken: number;
  unrouted: number;
  queued: FileJobRow[];
  runs: PipelineRunRow[];
}

interface SeenRow {
  externalId: string;
  modifiedTime: Date;
  size: number | null;
  checksum: string | null;
}

function changed(seen: SeenRow | undefined, file: SourceFile): boolean {
  if (!seen) return true;
  if (file.checksum && seen.checksum) return file.checksum !== seen.checksum;
  return seen.modifiedTime.getTime() !== file.modifiedTime.getTime() || (file.size !== null && seen.size !== file.size);
}

async function downloadOnce(dataDir: string, opened: ReturnType<typeof openSource>, sourceId: string, file: SourceFile): Promise<string> {
  const safe = file.name.replace(/[^\w.\- ]+/g, '_');
  const target = path.join(dataDir, 'downloads', sourceId, `${file.id.replace(/[^\w-]+/g, '_')}-${file.modifiedTime.getTime()}-${safe}`);
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const partial = `${target}.part`;
  await streamPipeline(await opened.source.download(file), fs.createWriteStream(partial));
  await fs.promises.rename(partial, target);
  return target;
}

/**
 * One look at a source: every file new or changed since the last look (by checksum where the source gives
 * one, else modified time and size) is peeked, routed to a pipeline and queued as a file job of that
 * pipeline's run of the file's business day (the day's latest run, or a new one); a file no pipeline claims
 * is recorded as unrouted with the reason. Unchanged files are not downloaded again. The source files, runs,
 * file jobs and their pg-boss jobs are written in one transaction.
 */
export async function pollSource(ctx: Context, queue: JobSender, sourceId: string, options: { dataDir: string; signal?: AbortSignal }): Promise<PollResult> {
  const row = (await ctx.db.pool.query<SourceRow>(`SELECT ${sourceColumns} FROM pipeline_sources WHERE id = $1`, [sourceId])).rows[0];
  if (!row) throw new AppError('not_found', `Pipeline source ${sourceId} was not found.`);
  const business = (await ctx.db.pool.query<{ timezone: string }>(`SELECT timezone FROM businesses WHERE id = $1`, [row.businessId])).rows[0]!;
  const today = todayIn(business.timezone);
  const seen = new Map(
    (await ctx.db.pool.query<SeenRow>(`SELECT external_id AS "externalId", modified_time AS "modifiedTime", size::float8 AS size, checksum FROM pipeline_source_files WHERE source_id = $1`, [sourceId])).rows.map((r) => [r.externalId, r]),
  );
  const opened = openSource(row);
  const listed: SourceFile[] = [];
  const taken: { file: SourceFile; localPath: string; pipelineName: string | null; reason: string | null; storeCode: string | null; date: string }[] = [];
  try {
    for await (const file of opened.source.list(options.signal)) {
      listed.push(file);
      if (!changed(seen.get(file.id), file)) continue;
      const localPath = opened.localPathOf(file) ?? (await downloadOnce(options.dataDir, opened, sourceId, file));
      const peek = await peekFile(localPath, file.name);
      const pipeline = routeFile(peek);
      taken.push({
        file,
        localPath,
        pipelineName: pipeline?.name ?? null,
        reason: pipeline ? null : peek.problem ?? `No pipeline takes a file named "${file.name}" with the columns ${peek.headers.slice(0, 12).join(', ') || '(none)'}.`,
        storeCode: pipeline?.storeOf?.(peek) ?? null,
        date: pipeline?.dateOf?.(peek) ?? today,
      });
    }
  } catch (error) {
    await ctx.db.pool.query(`UPDATE pipeline_sources SET last_polled_at = now(), last_error = $2 WHERE id = $1`, [sourceId, error instanceof Error ? error.message : String(error)]);
    throw error;
  }
  return withTransaction(ctx.db.pool, async (client) => {
    await client.query(`UPDATE pipeline_sources SET last_polled_at = now(), last_error = NULL WHERE id = $1`, [sourceId]);
    await client.query(`UPDATE pipeline_source_files SET last_seen_at = now() WHERE source_id = $1 AND external_id = ANY($2::text[])`, [sourceId, listed.map((f) => f.id)]);
    const sourceFileIds = new Map<string, string>();
    if (taken.length > 0) {
      const upserted = await client.query<{ id: string; externalId: string }>(
        `INSERT INTO pipeline_source_files AS s (source_id, business_id, external_id, name, modified_time, size, checksum, mime_type, pipeline_name, unrouted_reason, taken_at)
         SELECT $1, $2, f.* , now() FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[]) AS f
         ON CONFLICT (source_id, external_id) DO UPDATE SET name = EXCLUDED.name, modified_time = EXCLUDED.modified_time, size = EXCLUDED.size, checksum = EXCLUDED.checksum,
           mime_type = EXCLUDED.mime_type, pipeline_name = EXCLUDED.pipeline_name, unrouted_reason = EXCLUDED.unrouted_reason, taken_at = now(), last_seen_at = now()
         RETURNING id, external_id AS "externalId"`,
        [sourceId, row.businessId, taken.map((t) => t.file.id), taken.map((t) => t.file.name), taken.map((t) => t.file.modifiedTime), taken.map((t) => t.file.size), taken.map((t) => t.file.checksum), taken.map((t) => t.file.mimeType), taken.map((t) => t.pipelineName), taken.map((t) => t.reason)],
      );
      for (const r of upserted.rows) sourceFileIds.set(r.externalId, r.id);
    }
    const groups = new Map<string, { pipelineName: string; date: string; files: NewFileJob[] }>();
    for (const t of taken) {
      if (!t.pipelineName) continue;
      const key = `${t.pipelineName}|${t.date}`;
      const group = groups.get(key) ?? { pipelineName: t.pipelineName, date: t.date, files: [] };
      group.files.push({ filePath: t.localPath, fileName: t.file.name, fileSize: t.file.size, sourceFileId: sourceFileIds.get(t.file.id) ?? null, storeCode: t.storeCode });
      groups.set(key, group);
    }
    const queued: FileJobRow[] = [];
    const runs: PipelineRunRow[] = [];
    for (const group of groups.values()) {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`pipeline-run-of-day:${group.pipelineName}:${row.businessId}:${group.date}`]);
      const run = (await latestRunOfDay(client, row.businessId, group.pipelineName, group.date)) ?? (await createRun(client, { businessId: row.businessId, pipelineName: group.pipelineName, date: group.date, trigger: 'watcher', sourceId }));
      queued.push(...(await queueFileJobs(client, queue, run, group.files)));
      runs.push(run);
    }
    ctx.log.info({ source: row.name, listed: listed.length, taken: taken.length, queued: queued.length }, 'pipeline source polled');
    return { sourceId, listed: listed.length, taken: taken.length, unrouted: taken.filter((t) => !t.pipelineName).length, queued, runs };
  });
}

/** Polls every enabled source whose interval has passed since its last look; a failing source does not stop the others. */
export async function pollDueSources(ctx: Context, queue: JobSender, options: { dataDir: string; signal?: AbortSignal }): Promise<PollResult[]> {
  const due = await ctx.db.pool.query<{ id: string; name: string }>(
    `SELECT id, name FROM pipeline_sources WHERE enabled AND (last_polled_at IS NULL OR last_polled_at + make_interval(secs => poll_interval_seconds) <= now()) ORDER BY last_polled_at NULLS FIRST`,
  );
  const results: PollResult[] = [];
  for (const source of due.rows) {
    try {
      results.push(await pollSource(ctx, queue, source.id, options));
    } catch (error) {
      ctx.log.warn({ source: source.name, err: error }, 'pipeline source could not be polled');
    }
  }
  return results;
}
