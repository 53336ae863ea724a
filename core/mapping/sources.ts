import { createHash } from 'node:crypto';
import { z } from 'zod';
import { writeAudit } from '../auth/audit.js';
import { assertCan, can } from '../auth/permissions.js';
import { scopeIncludes } from '../auth/scope.js';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import { AppError, notFound } from '../errors.js';
import { feedBusinessId } from '../feeds/preview.js';
import { openTable } from '../files/reader.js';
import { withHeaders, type ReadLimits } from '../files/table.js';
import { deleteUpload, findDataSourceUpload, storeUpload } from '../feeds/uploads.js';
import { detectPii, maskValue, piiKinds } from './pii.js';
import { sniffValues, type ValueKind } from './sniff.js';
import type { SourceRow } from './transforms.js';

export interface SourceSettings {
  /** Rows read from the top of a file for samples, kinds and PII flags, and shown by a mapping preview. */
  sampleRows: number;
  maxUploadBytes: number;
  /** Columns a file may have: a wider one is refused at its header. */
  maxColumns: number;
}

export function sourceSettings(config: Pick<Config, 'MAPPING_SAMPLE_ROWS' | 'FEED_MAX_UPLOAD_MB' | 'FEED_MAX_COLUMNS'>): SourceSettings {
  return { sampleRows: config.MAPPING_SAMPLE_ROWS, maxUploadBytes: Math.round(config.FEED_MAX_UPLOAD_MB * 1024 * 1024), maxColumns: config.FEED_MAX_COLUMNS };
}

/** Longer cells are cut in samples: enough to see a format, and a data source row stays small. */
const SAMPLE_CHARS = 200;

const valueKinds = ['email', 'phone', 'date', 'money', 'integer', 'decimal', 'boolean', 'identifier', 'category', 'text', 'empty'] as const satisfies readonly ValueKind[];

const storedColumnSchema = z.object({
  header: z.string(),
  samples: z.array(z.string()),
  kind: z.enum(valueKinds),
  pii: z.enum(piiKinds).nullable(),
});
/** A column of a data source as kept in `data_sources.columns`: samples are the first rows' cells, unmasked. */
export type SourceColumnInfo = z.infer<typeof storedColumnSchema>;

export interface DataSourceRecord {
  id: string;
  businessId: string;
  name: string;
  filename: string;
  uploadToken: string | null;
  fingerprint: string;
  columns: SourceColumnInfo[];
}

export interface DataSourceView {
  id: string;
  name: string;
  filename: string;
  business_id: string;
  fingerprint: string;
  columns: SourceColumnInfo[];
  /** The approved mapping of this layout in this business: later uploads of the layout reuse it. */
  approved_mapping?: { version_id: string; version: number; table: string };
}

/**
 * The layout of a file: its headers (as the reader gives them, trimmed), sorted, hashed. Order does not
 * count, because a mapping reads cells by header name, so a reordered export loads the same way; spelling
 * and case do count, because a mapping names its sources exactly and would not find "order id" in a file
 * that says "Order ID". Two files share a fingerprint exactly when one mapping fits both.
 */
export function fingerprintHeaders(headers: readonly string[]): string {
  const sorted = [...headers].sort();
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

/** Sample values of PII columns as the caller may see them: masked unless their role may view personal data. */
export function columnsForCaller(ctx: Context, columns: readonly SourceColumnInfo[]): SourceColumnInfo[] {
  if (can(ctx.user, 'pii', 'view')) return columns.map((column) => ({ ...column }));
  return columns.map((column) => {
    const kind = column.pii;
    return kind ? { ...column, samples: column.samples.map((sample) => maskValue(kind, sample)) } : { ...column };
  });
}

interface SampledFile {
  headers: string[];
  rows: { rowNumber: number; values: SourceRow }[];
}

/**
 * The header and up to `limit` rows of a stored file. Columns without a header are left out (they cannot
 * be named by a mapping; the reader skips a header row without any name as blank, so some column is named);
 * two columns with one header are refused, since a mapping could not tell them apart.
 */
async function sampleFile(ctx: Context, token: string, limit: number, limits: ReadLimits = {}): Promise<SampledFile> {
  const upload = await findDataSourceUpload(ctx, token);
  const table = await withHeaders(await openTable(upload, limits));
  try {
    const named = table.headers.map((header, index) => ({ header, index })).filter((column) => column.header !== '');
    const seen = new Set<string>();
    const repeated = new Set<string>();
    for (const { header } of named) (seen.has(header) ? repeated : seen).add(header);
    if (repeated.size > 0) {
      throw new AppError('validation_failed', `${upload.filename} has more than one column named ${[...repeated].map((h) => `“${h}”`).join(', ')}. Rename them so that each column has its own name, then upload the file again.`, {
        repeated_headers: [...repeated],
      });
    }
    const rows: SampledFile['rows'] = [];
    for await (const row of table.rows) {
      if (rows.length === limit) break;
      rows.push({ rowNumber: row.rowNumber, values: Object.fromEntries(named.map(({ header, index }) => [header, row.cells[index] ?? ''])) });
    }
    return { headers: named.map((column) => column.header), rows };
  } finally {
    table.close();
  }
}

function describeColumns(sample: SampledFile): SourceColumnInfo[] {
  return sample.headers.map((header) => {
    const cells = sample.rows.map((row) => row.values[header] ?? '');
    const samples = cells.map((cell) => (cell.length > SAMPLE_CHARS ? cell.slice(0, SAMPLE_CHARS) : cell));
    return { header, samples, kind: sniffValues(cells).kind, pii: detectPii(header, cells) };
  });
}

function recordOf(row: { id: string; businessId: string; name: string; filename: string; uploadToken: string | null; headerFingerprint: string; columns: unknown }): DataSourceRecord {
  return {
    id: row.id,
    businessId: row.businessId,
    name: row.name,
    filename: row.filename,
    uploadToken: row.uploadToken,
    fingerprint: row.headerFingerprint,
    columns: z.array(storedColumnSchema).parse(row.columns),
  };
}

/** A data source of the caller's business (any business for admins); another business's is "not found". */
export async function findDataSource(ctx: Context, id: string): Promise<DataSourceRecord> {
  const missing = notFound(`Data source ${id}`);
  if (!z.uuid().safeParse(id).success) throw missing;
  const row = await ctx.db.prisma.dataSource.findUnique({ where: { id } });
  if (!row || !scopeIncludes(ctx.scope, row.businessId)) throw missing;
  return recordOf(row);
}

/** The header and first rows of a data source's file, read again from the stored upload. */
export async function readSourceRows(ctx: Context, source: DataSourceRecord, limit: number): Promise<SampledFile> {
  if (!source.uploadToken) throw new AppError('gone', `The file of data source “${source.name}” is no longer stored. Upload it again as a new data source.`);
  // Its columns were bounded when the data source was created.
  return sampleFile(ctx, source.uploadToken, limit);
}

/** The approved mapping of a layout (business + header fingerprint), if one is approved. */
export async function approvedMappingOf(ctx: Context, businessId: string, fingerprint: string): Promise<DataSourceView['approved_mapping']> {
  const approved = await ctx.db.prisma.mappingVersion.findFirst({ where: { businessId, headerFingerprint: fingerprint, status: 'approved' } });
  return approved ? { version_id: approved.id, version: approved.version, table: approved.targetTable } : undefined;
}

async function viewOf(ctx: Context, source: DataSourceRecord): Promise<DataSourceView> {
  const approved = await approvedMappingOf(ctx, source.businessId, source.fingerprint);
  return {
    id: source.id,
    name: source.name,
    filename: source.filename,
    business_id: source.businessId,
    fingerprint: source.fingerprint,
    columns: columnsForCaller(ctx, source.columns),
    ...(approved ? { approved_mapping: approved } : {}),
  };
}

/**
 * Keeps an uploaded file as a data source: the file stays in PostgreSQL for as long as the data source
 * refers to it (approval and execution read it again), its first rows give each column's samples, value
 * kind and PII flag, and its headers the fingerprint that finds an approved mapping of the same layout.
 */
export async function createDataSource(
  ctx: Context,
  settings: SourceSettings,
  input: { businessId?: string; name?: string; filename: string; stream: AsyncIterable<Buffer> },
): Promise<DataSourceView> {
  assertCan(ctx.user, 'dataSources', 'new');
  const businessId = await feedBusinessId(ctx, input.businessId);
  const stored = await storeUpload(ctx, { businessId, dataType: 'data_source', filename: input.filename, stream: input.stream }, { maxBytes: settings.maxUploadBytes, ttlSeconds: null });
  let sample: SampledFile;
  try {
    sample = await sampleFile(ctx, stored.token, settings.sampleRows, settings);
    if (sample.rows.length === 0) throw new AppError('validation_failed', `${input.filename} has a header row but no data rows. Upload a file with at least one row of data.`);
  } catch (error) {
    // A file we cannot read is not kept: nothing could be mapped from it.
    await deleteUpload(ctx, stored.token);
    throw error;
  }
  const name = input.name?.trim() || input.filename.replace(/\.[^.]+$/, '');
  const columns = describeColumns(sample);
  const row = await ctx.db.prisma.$transaction(async (tx) => {
    const created = await tx.dataSource.create({
      data: {
        businessId,
        name,
        filename: input.filename,
        uploadToken: stored.token,
        headerFingerprint: fingerprintHeaders(sample.headers),
        columns,
        createdBy: ctx.user.kind === 'user' ? ctx.user.id : null,
      },
    });
    // The columns' headers and personal-data kinds, not their samples (which may be personal data).
    const after = { name, filename: input.filename, columns: columns.map((column) => column.header), pii: columns.filter((column) => column.pii).map((column) => `${column.header}: ${column.pii}`) };
    await writeAudit(ctx, { resource: 'dataSources', recordId: created.id, action: 'create', businessId, after }, tx);
    return created;
  });
  ctx.log.info({ dataSourceId: row.id, businessId, columns: columns.length, pii: columns.filter((c) => c.pii).map((c) => c.pii) }, 'data source created');
  return viewOf(ctx, recordOf(row));
}

export interface DataSourceSummary {
  id: string;
  name: string;
  filename: string;
  business_id: string;
  created_at: string;
  columns: number;
  approved_mapping: DataSourceView['approved_mapping'] | null;
  last_execution: { id: string; status: string; rows_loaded: number; rows_rejected: number; finished_at: string | null } | null;
}

/** The caller's data sources, newest first, with their layout's approved mapping and their last execution. */
export async function listDataSources(ctx: Context, options: { take: number }): Promise<DataSourceSummary[]> {
  assertCan(ctx.user, 'dataSources', 'list');
  const result = await ctx.db.pool.query<{
    id: string; name: string; filename: string; business_id: string; created_at: Date; columns: number;
    version_id: string | null; version: number | null; target_table: string | null;
    execution_id: string | null; execution_status: string | null; rows_loaded: number | null; rows_rejected: number | null; finished_at: Date | null;
  }>(
    `SELECT s.id, s.name, s.filename, s.business_id, s.created_at, jsonb_array_length(s.columns) AS columns,
            v.id AS version_id, v.version, v.target_table,
            e.id AS execution_id, e.status AS execution_status, e.rows_loaded, e.rows_rejected, e.finished_at
     FROM data_sources s
     LEFT JOIN mapping_versions v ON v.business_id = s.business_id AND v.header_fingerprint = s.header_fingerprint AND v.status = 'approved'
     LEFT JOIN LATERAL (SELECT * FROM mapping_executions x WHERE x.data_source_id = s.id ORDER BY x.created_at DESC LIMIT 1) e ON true
     WHERE ($1::uuid IS NULL OR s.business_id = $1::uuid)
     ORDER BY s.created_at DESC, s.id LIMIT $2`,
    [ctx.scope.kind === 'business' ? ctx.scope.businessId : null, options.take],
  );
  return result.rows.map((row) => ({
    id: row.id,
    name: row.name,
    filename: row.filename,
    business_id: row.business_id,
    created_at: row.created_at.toISOString(),
    columns: row.columns,
    approved_mapping: row.version_id ? { version_id: row.version_id, version: row.version!, table: row.target_table! } : null,
    last_execution: row.execution_id
      ? { id: row.execution_id, status: row.execution_status!, rows_loaded: row.rows_loaded!, rows_rejected: row.rows_rejected!, finished_at: row.finished_at?.toISOString() ?? null }
      : null,
  }));
}

export async function getDataSource(ctx: Context, id: string): Promise<DataSourceView> {
  assertCan(ctx.user, 'dataSources', 'show');
  return viewOf(ctx, await findDataSource(ctx, id));
}
