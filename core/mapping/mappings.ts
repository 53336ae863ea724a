import type { Prisma } from '@prisma/client';
import { z } from 'zod';
import { assertCan } from '../auth/permissions.js';
import { writeAudit } from '../auth/audit.js';
import { scopeIncludes } from '../auth/scope.js';
import type { Context } from '../context.js';
import { AppError, notFound } from '../errors.js';
import { normaliseHeader } from '../files/headers.js';
import { canonicalTables, requiredKeyColumns } from './canonical.js';
import type { PiiKind } from './pii.js';
import type { LearnedMappings, MappingProposer } from './propose.js';
import { columnsForCaller, findDataSource, readSourceRows, type DataSourceRecord, type SourceColumnInfo, type SourceSettings } from './sources.js';
import type { ValueKind } from './sniff.js';
import { compileTableMapping, DATE_SAMPLE_ROWS, transformChoices, type ColumnMapping, type RowError, type Transform } from './transforms.js';

/** The transforms a proposal starts a column with, from what its target column holds. */
export function defaultTransforms(table: string, target: string): Transform[] {
  if (target === 'status') return [{ op: 'trim' }, { op: 'normalise_status' }];
  const kind = canonicalTables[table]?.find((column) => column.name === target)?.kinds[0];
  switch (kind) {
    case 'date':
      return [{ op: 'date_parse', format: 'auto' }];
    case 'money':
    case 'decimal':
      return [{ op: 'number_parse', locale: 'auto' }];
    case 'integer':
      return [{ op: 'cast', to: 'integer' }];
    case 'boolean':
      return [{ op: 'cast', to: 'boolean' }];
    case 'email':
      return [{ op: 'trim' }, { op: 'lower' }];
    default:
      return [{ op: 'trim' }];
  }
}

function knownTable(table: string): string {
  if (!canonicalTables[table]) {
    throw new AppError('validation_failed', `“${table}” is not a canonical table; choose one of ${Object.keys(canonicalTables).join(', ')}.`, [{ field: 'table', reason: 'is not a canonical table' }]);
  }
  return table;
}

/** A domain hint that names a canonical table ("orders", "order", "inventory") picks it; others say nothing. */
function tableFromHints(hints: readonly string[]): string | undefined {
  const tables = Object.keys(canonicalTables);
  for (const hint of hints.map(normaliseHeader)) {
    if (!hint) continue;
    const exact = tables.find((table) => table === hint || table === `${hint}s`);
    if (exact) return exact;
    const prefixed = tables.filter((table) => table.startsWith(`${hint}_`));
    if (prefixed.length === 1) return prefixed[0];
  }
  return undefined;
}

/** What approved mappings of the business taught: the latest approval of each header wins. */
async function learnedMappings(ctx: Context, businessId: string): Promise<LearnedMappings> {
  const rows = await ctx.db.pool.query<{ source_column: string; target_table: string; target_column: string; source: string }>(
    `SELECT fm.source_column, mv.target_table, fm.target_column, COALESCE(ds.name, 'mapping version ' || mv.version) AS source
       FROM field_mappings fm
       JOIN mapping_versions mv ON mv.id = fm.mapping_version_id
       LEFT JOIN data_sources ds ON ds.id = mv.data_source_id
      WHERE mv.business_id = $1 AND mv.status = 'approved' AND fm.source_column IS NOT NULL
      ORDER BY mv.approved_at DESC, fm.position`,
    [businessId],
  );
  const learned: LearnedMappings = new Map();
  for (const row of rows.rows) {
    const header = normaliseHeader(row.source_column);
    if (!learned.has(header)) learned.set(header, { table: row.target_table, column: row.target_column, source: row.source });
  }
  return learned;
}

export interface ProposalColumn {
  source: string;
  kind: ValueKind;
  samples: string[];
  pii: PiiKind | null;
  target: string | null;
  confidence: number;
  reason: string;
  transforms: Transform[];
}

export interface ProposalView {
  data_source_id: string;
  table: string;
  table_confidence: number;
  alternatives: { table: string; score: number }[];
  fallback?: { reason: string };
  columns: ProposalColumn[];
  /** The mapped columns as `POST /api/mapping/save` and `/preview` take them. */
  mapping: ColumnMapping[];
}

/**
 * Proposes a mapping of a data source onto one canonical table: each column's target (or none), with a
 * confidence, a reason and the transforms its target's kind needs. Learns from the business's approved mappings.
 */
export async function proposeMapping(ctx: Context, proposer: MappingProposer, input: { dataSourceId: string; tableHint?: string; domainHints?: string[] }): Promise<ProposalView> {
  assertCan(ctx.user, 'mappings', 'show');
  const source = await findDataSource(ctx, input.dataSourceId);
  const tableHint = input.tableHint ? knownTable(input.tableHint) : tableFromHints(input.domainHints ?? []);
  const learned = await learnedMappings(ctx, source.businessId);
  const proposal = await proposer.propose(
    source.columns.map((column) => ({ header: column.header, samples: column.samples })),
    { tableHint, learned },
  );
  const shown = new Map(columnsForCaller(ctx, source.columns).map((column) => [column.header, column]));
  const columns = proposal.columns.map((column): ProposalColumn => {
    const info = shown.get(column.source);
    return {
      source: column.source,
      kind: column.kind,
      samples: info?.samples ?? [],
      pii: info?.pii ?? null,
      target: column.target,
      confidence: column.confidence,
      reason: column.reason,
      transforms: column.target ? defaultTransforms(proposal.table, column.target) : [],
    };
  });
  return {
    data_source_id: source.id,
    table: proposal.table,
    table_confidence: proposal.tableConfidence,
    alternatives: proposal.alternatives,
    ...(proposal.fallback ? { fallback: proposal.fallback } : {}),
    columns,
    mapping: columns.filter((column) => column.target !== null).map((column) => ({ target: column.target!, source: column.source, transforms: column.transforms })),
  };
}

/** A reviewed column may carry the proposal's confidence and reason beside the mapping itself. */
const reviewNotesSchema = z.object({ confidence: z.number().min(0).max(1).optional(), reason: z.string().max(500).optional() });

function splitReviewNotes(input: unknown): { mapping: unknown; notes: z.infer<typeof reviewNotesSchema> } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { mapping: input, notes: {} };
  const { confidence, reason, ...mapping } = input as Record<string, unknown>;
  const notes = reviewNotesSchema.safeParse({ confidence, reason });
  return { mapping, notes: notes.success ? notes.data : {} };
}

export interface MappingVersionView {
  id: string;
  business_id: string;
  data_source_id: string | null;
  fingerprint: string;
  version: number;
  status: string;
  table: string;
  approved_by: string | null;
  approved_at: string | null;
  created_at: string;
  columns: { target: string; source: string | null; expression: string | null; transforms: unknown; confidence: number | null; reason: string | null; pii: string | null }[];
}

type VersionWithFields = Prisma.MappingVersionGetPayload<{ include: { fields: true } }>;

function versionView(version: VersionWithFields): MappingVersionView {
  return {
    id: version.id,
    business_id: version.businessId,
    data_source_id: version.dataSourceId,
    fingerprint: version.headerFingerprint,
    version: version.version,
    status: version.status,
    table: version.targetTable,
    approved_by: version.approvedBy,
    approved_at: version.approvedAt?.toISOString() ?? null,
    created_at: version.createdAt.toISOString(),
    columns: [...version.fields]
      .sort((a, b) => a.position - b.position)
      .map((field) => ({ target: field.targetColumn, source: field.sourceColumn, expression: field.computedExpression, transforms: field.transforms, confidence: field.confidence, reason: field.reason, pii: field.piiKind })),
  };
}

/** Saves and approvals of one layout take turns, so version numbers and the one approved version stay consistent. */
async function lockLayout(tx: Prisma.TransactionClient, businessId: string, fingerprint: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`mapping:${businessId}:${fingerprint}`}, 0))`;
}

/**
 * Saves a reviewed mapping of a data source as a new draft version of its layout (business + header
 * fingerprint): checked against the file's headers by the same compiler that loads it, and against the
 * catalog (known targets, natural key mapped). Saving never edits an existing version. Audited.
 */
export async function saveMapping(ctx: Context, input: { dataSourceId: string; table: string; columns: unknown[] }): Promise<MappingVersionView> {
  assertCan(ctx.user, 'mappings', 'new');
  const source = await findDataSource(ctx, input.dataSourceId);
  const table = knownTable(input.table);
  const reviewed = input.columns.map(splitReviewNotes);
  const compiled = compileTableMapping(
    table,
    reviewed.map((column) => column.mapping),
    { headers: source.columns.map((column) => column.header) },
  );
  if (!compiled.ok) throw compiled.error;

  const piiBySource = new Map(source.columns.map((column: SourceColumnInfo) => [column.header, column.pii]));
  const created = await ctx.db.prisma.$transaction(async (tx) => {
    await lockLayout(tx, source.businessId, source.fingerprint);
    const latest = await tx.mappingVersion.aggregate({ where: { businessId: source.businessId, headerFingerprint: source.fingerprint }, _max: { version: true } });
    const version = await tx.mappingVersion.create({
      data: {
        businessId: source.businessId,
        headerFingerprint: source.fingerprint,
        version: (latest._max.version ?? 0) + 1,
        targetTable: table,
        dataSourceId: source.id,
        createdBy: ctx.user.kind === 'user' ? ctx.user.id : null,
        fields: {
          create: compiled.columns.map((mapping, position) => {
            const sourceColumn = 'source' in mapping ? mapping.source : null;
            return {
              position,
              targetColumn: mapping.target,
              sourceColumn,
              computedExpression: 'expression' in mapping ? mapping.expression : null,
              transforms: 'transforms' in mapping ? (mapping.transforms as Prisma.InputJsonValue) : [],
              confidence: reviewed[position]!.notes.confidence ?? null,
              reason: reviewed[position]!.notes.reason ?? null,
              piiKind: sourceColumn === null ? null : (piiBySource.get(sourceColumn) ?? null),
            };
          }),
        },
      },
      include: { fields: true },
    });
    await writeAudit(ctx, { resource: 'mappingVersions', recordId: version.id, action: 'create', businessId: version.businessId, after: versionView(version) }, tx);
    return version;
  });
  ctx.log.info({ mappingVersionId: created.id, version: created.version, table }, 'mapping version saved');
  return versionView(created);
}

async function findVersion(ctx: Context, id: string): Promise<VersionWithFields> {
  const missing = notFound(`Mapping version ${id}`);
  if (!z.uuid().safeParse(id).success) throw missing;
  const version = await ctx.db.prisma.mappingVersion.findUnique({ where: { id }, include: { fields: true } });
  if (!version || !scopeIncludes(ctx.scope, version.businessId)) throw missing;
  return version;
}

/** Every version of a data source's layout (its business and header fingerprint), newest first: the drafts waiting for approval and the approved one. */
export async function listMappingVersions(ctx: Context, dataSourceId: string): Promise<MappingVersionView[]> {
  assertCan(ctx.user, 'mappings', 'list');
  const source = await findDataSource(ctx, dataSourceId);
  const versions = await ctx.db.prisma.mappingVersion.findMany({
    where: { businessId: source.businessId, headerFingerprint: source.fingerprint },
    include: { fields: true },
    orderBy: { version: 'desc' },
    take: 50,
  });
  return versions.map(versionView);
}

/** What a mapping screen offers: each canonical table's columns (natural key marked) and the transforms' choices. */
export function mappingCatalog(): { tables: { name: string; columns: { name: string; required: boolean }[] }[]; transforms: typeof transformChoices } {
  return {
    tables: Object.entries(canonicalTables).map(([name, columns]) => ({
      name,
      columns: columns.map((column) => ({ name: column.name, required: requiredKeyColumns(name).includes(column.name) })),
    })),
    transforms: transformChoices,
  };
}

/**
 * Approves a draft mapping version (admins only): it becomes the mapping later uploads of its layout
 * reuse, and the version approved before it is superseded. Both changes are audited with before and after.
 */
export async function approveMapping(ctx: Context, mappingVersionId: string): Promise<MappingVersionView & { superseded: string | null }> {
  assertCan(ctx.user, 'mappings', 'approve');
  const found = await findVersion(ctx, mappingVersionId);
  const approved = await ctx.db.prisma.$transaction(async (tx) => {
    await lockLayout(tx, found.businessId, found.headerFingerprint);
    const current = await tx.mappingVersion.findUniqueOrThrow({ where: { id: found.id }, include: { fields: true } });
    if (current.status !== 'draft') {
      throw new AppError('conflict', `Version ${current.version} of this mapping is already ${current.status}. Approved mappings are never changed: save the mapping again to make a new version, then approve that.`);
    }
    const previous = await tx.mappingVersion.findFirst({ where: { businessId: current.businessId, headerFingerprint: current.headerFingerprint, status: 'approved' }, include: { fields: true } });
    if (previous) {
      const superseded = await tx.mappingVersion.update({ where: { id: previous.id }, data: { status: 'superseded' }, include: { fields: true } });
      await writeAudit(ctx, { resource: 'mappingVersions', recordId: previous.id, action: 'supersede', businessId: previous.businessId, before: versionView(previous), after: versionView(superseded) }, tx);
    }
    const updated = await tx.mappingVersion.update({
      where: { id: current.id },
      data: { status: 'approved', approvedAt: new Date(), approvedBy: ctx.user.kind === 'user' ? ctx.user.id : null },
      include: { fields: true },
    });
    await writeAudit(ctx, { resource: 'mappingVersions', recordId: current.id, action: 'approve', businessId: current.businessId, before: versionView(current), after: { ...versionView(updated), superseded: previous?.id ?? null } }, tx);
    return { updated, supersededId: previous?.id ?? null };
  });
  ctx.log.info({ mappingVersionId: approved.updated.id, superseded: approved.supersededId }, 'mapping version approved');
  return { ...versionView(approved.updated), superseded: approved.supersededId };
}

export interface PreviewRow {
  row_number: number;
  /** Each mapped column's value as the load stores it (null: empty, or refused). */
  values: Record<string, string | null>;
  /** The row's rejects, exactly as an execution would list them; none when the row loads. */
  errors: RowError[];
}

export interface PreviewView {
  data_source_id: string;
  table: string;
  rows: PreviewRow[];
  summary: { rows: number; rows_with_errors: number };
}

/**
 * The first rows of a data source's file as a load of the mapping would store them, through the function
 * the load uses: each row's values, and its rejects with the load's reasons. The `auto` date formats are
 * settled by the same first rows as in a load. Nothing is saved. Values are shown unmasked, so previewing
 * needs the right to see personal data as well as to edit mappings.
 */
export async function previewMapping(ctx: Context, settings: SourceSettings, input: { dataSourceId: string; table: string; columns: unknown[] }): Promise<PreviewView> {
  assertCan(ctx.user, 'mappings', 'new');
  assertCan(ctx.user, 'pii', 'view');
  const source: DataSourceRecord = await findDataSource(ctx, input.dataSourceId);
  const mappings = input.columns.map((column) => splitReviewNotes(column).mapping);
  const table = knownTable(input.table);
  const file = await readSourceRows(ctx, source, Math.max(settings.sampleRows, DATE_SAMPLE_ROWS));
  const compiled = compileTableMapping(table, mappings, { headers: file.headers, samples: file.rows.map((row) => row.values) });
  if (!compiled.ok) throw compiled.error;
  const rows = file.rows.slice(0, settings.sampleRows).map((row): PreviewRow => {
    const mapped = compiled.mapRow(row.values, row.rowNumber);
    return { row_number: row.rowNumber, values: mapped.values, errors: mapped.rejects };
  });
  return { data_source_id: source.id, table, rows, summary: { rows: rows.length, rows_with_errors: rows.filter((row) => row.errors.length > 0).length } };
}
